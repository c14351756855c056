//! Image-reconstruction metrics with scikit-image's definitions
//! (`skimage.metrics.peak_signal_noise_ratio` and `structural_similarity`), which the tests
//! check against values computed with scikit-image itself.
//!
//! Images are `f32`, row-major; multi-channel images are channel-first (`C x H x W`, the
//! layout medmtl's datasets and models use). Arithmetic is in `f64`. Invalid input (lengths
//! that do not match the shape or each other, a data range that is not positive and finite,
//! an image smaller than the SSIM window) gives NaN rather than a panic; scikit-image raises.

/// Peak signal-to-noise ratio in dB, `10 log10(R² / MSE)` with `R` the data range the caller
/// states (never inferred from the data: the range of normalised images is a property of
/// the normalisation, not of one image). Identical images give `+inf`, as scikit-image; a
/// mean over images must handle that explicitly.
pub fn psnr(reference: &[f32], test: &[f32], data_range: f64) -> f64 {
    if reference.is_empty() || reference.len() != test.len() || !(data_range.is_finite() && data_range > 0.0) {
        return f64::NAN;
    }
    let mse = reference.iter().zip(test).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum::<f64>() / reference.len() as f64;
    10.0 * (data_range * data_range / mse).log10()
}

/// Standard deviation of the Gaussian SSIM window (Wang et al. 2004).
pub const SSIM_SIGMA: f64 = 1.5;
/// Window radius: `int(3.5 σ + 0.5)` as scipy's `gaussian_filter(truncate=3.5)`, so the window
/// is 11 x 11 and images must be at least that large.
pub const SSIM_RADIUS: usize = 5;

/// Normalised 1-D Gaussian weights over `−r..=r`, as scipy's `_gaussian_kernel1d`.
fn gaussian_kernel() -> Vec<f64> {
    let r = SSIM_RADIUS as isize;
    let w: Vec<f64> = (-r..=r).map(|x| (-0.5 * (x * x) as f64 / (SSIM_SIGMA * SSIM_SIGMA)).exp()).collect();
    let total: f64 = w.iter().sum();
    w.into_iter().map(|v| v / total).collect()
}

/// scipy's `mode="reflect"` index (`d c b a | a b c d | d c b a`), valid for any offset.
fn reflect(i: isize, n: usize) -> usize {
    let period = 2 * n as isize;
    let i = i.rem_euclid(period);
    if i < n as isize {
        i as usize
    } else {
        (period - 1 - i) as usize
    }
}

/// Separable Gaussian filter, rows (axis 0) then columns (axis 1), as scipy applies its axes.
fn gaussian_filter(image: &[f64], height: usize, width: usize, kernel: &[f64]) -> Vec<f64> {
    let r = SSIM_RADIUS as isize;
    let mut along_y = vec![0.0; image.len()];
    for y in 0..height {
        for x in 0..width {
            along_y[y * width + x] = (-r..=r).map(|k| kernel[(k + r) as usize] * image[reflect(y as isize + k, height) * width + x]).sum();
        }
    }
    let mut out = vec![0.0; image.len()];
    for y in 0..height {
        for x in 0..width {
            out[y * width + x] = (-r..=r).map(|k| kernel[(k + r) as usize] * along_y[y * width + reflect(x as isize + k, width)]).sum();
        }
    }
    out
}

/// Mean structural similarity of one single-channel image pair, exactly as scikit-image's
/// `structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
/// data_range=R)`: local means, variances and covariance under an 11 x 11 Gaussian window
/// (σ = 1.5, reflected at the border), population covariance (Wang et al. 2004),
/// `C1 = (0.01 R)²`, `C2 = (0.03 R)²`, and the mean of the SSIM map after cropping the
/// 5-pixel border where the window is reflected.
pub fn ssim(reference: &[f32], test: &[f32], height: usize, width: usize, data_range: f64) -> f64 {
    let n = height * width;
    let window = 2 * SSIM_RADIUS + 1;
    if reference.len() != n || test.len() != n || height < window || width < window {
        return f64::NAN;
    }
    if !(data_range.is_finite() && data_range > 0.0) {
        return f64::NAN;
    }
    let kernel = gaussian_kernel();
    let a: Vec<f64> = reference.iter().map(|&v| v as f64).collect();
    let b: Vec<f64> = test.iter().map(|&v| v as f64).collect();
    let product = |p: &[f64], q: &[f64]| p.iter().zip(q).map(|(x, y)| x * y).collect::<Vec<f64>>();
    let filter = |img: &[f64]| gaussian_filter(img, height, width, &kernel);
    let (ux, uy) = (filter(&a), filter(&b));
    let (uxx, uyy, uxy) = (filter(&product(&a, &a)), filter(&product(&b, &b)), filter(&product(&a, &b)));
    let c1 = (0.01 * data_range).powi(2);
    let c2 = (0.03 * data_range).powi(2);
    let pad = SSIM_RADIUS;
    let mut total = 0.0;
    for y in pad..height - pad {
        for x in pad..width - pad {
            let i = y * width + x;
            let (vx, vy, vxy) = (uxx[i] - ux[i] * ux[i], uyy[i] - uy[i] * uy[i], uxy[i] - ux[i] * uy[i]);
            let numerator = (2.0 * ux[i] * uy[i] + c1) * (2.0 * vxy + c2);
            let denominator = (ux[i] * ux[i] + uy[i] * uy[i] + c1) * (vx + vy + c2);
            total += numerator / denominator;
        }
    }
    total / ((height - 2 * pad) * (width - 2 * pad)) as f64
}

/// Mean over channels of [`ssim`] for `channels x height x width` images (scikit-image with
/// `channel_axis` set: each channel on its own, then the mean).
pub fn ssim_channels(reference: &[f32], test: &[f32], channels: usize, height: usize, width: usize, data_range: f64) -> f64 {
    let plane = height * width;
    if channels == 0 || reference.len() != channels * plane || test.len() != reference.len() {
        return f64::NAN;
    }
    let total: f64 = (0..channels)
        .map(|c| {
            let range = c * plane..(c + 1) * plane;
            ssim(&reference[range.clone()], &test[range], height, width, data_range)
        })
        .sum();
    total / channels as f64
}
