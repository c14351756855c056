//! Overlap metrics of predicted and reference label maps, per image then averaged.

/// Mean over images of Dice and IoU, each averaged over the foreground classes (1..classes)
/// of that image. A class absent from both reference and prediction has no defined Dice
/// (MONAI `ignore_empty=True`: NaN) and is left out; an image with no defined class is
/// left out of the mean.
pub fn mean_dice_iou(truth: &[u8], predicted: &[f32], pixels: usize, classes: usize) -> (f64, f64) {
    let (mut dice_sum, mut iou_sum, mut images) = (0.0, 0.0, 0usize);
    for (t, p) in truth.chunks(pixels.max(1)).zip(predicted.chunks(pixels.max(1))) {
        let (mut d, mut j, mut defined) = (0.0, 0.0, 0usize);
        for c in 1..classes.max(2) {
            let (mut inter, mut a, mut b) = (0usize, 0usize, 0usize);
            for (&tv, &pv) in t.iter().zip(p) {
                let (in_t, in_p) = (tv as usize == c, pv as usize == c);
                inter += (in_t && in_p) as usize;
                a += in_t as usize;
                b += in_p as usize;
            }
            if a + b == 0 {
                continue;
            }
            d += 2.0 * inter as f64 / (a + b) as f64;
            j += inter as f64 / (a + b - inter) as f64;
            defined += 1;
        }
        if defined > 0 {
            dice_sum += d / defined as f64;
            iou_sum += j / defined as f64;
            images += 1;
        }
    }
    if images == 0 {
        (f64::NAN, f64::NAN)
    } else {
        (dice_sum / images as f64, iou_sum / images as f64)
    }
}
