//! PSNR and SSIM against scikit-image (`fixtures/image_reference.json`; its `generator`
//! field names the version and the exact call), plus hand cases and invalid input.

use medmtl::metrics::image as im;
use serde_json::Value;

/// Little-endian float32 hex back to the exact `f32` values scikit-image saw.
fn unhex(hex: &str) -> Vec<f32> {
    let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    bytes.chunks(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn assert_rel(got: f64, want: f64, rel: f64, what: &str) {
    assert!((got - want).abs() <= rel * want.abs(), "{what}: got {got}, scikit-image {want}");
}

#[test]
fn psnr_and_ssim_match_scikit_image() {
    let fx: Value = serde_json::from_str(include_str!("fixtures/image_reference.json")).unwrap();
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let shape: Vec<usize> = case["shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        let r = unhex(case["reference"].as_str().unwrap());
        let t = unhex(case["test"].as_str().unwrap());
        let range = case["data_range"].as_f64().unwrap();
        let ssim = match shape[..] {
            [h, w] => im::ssim(&r, &t, h, w, range),
            [c, h, w] => im::ssim_channels(&r, &t, c, h, w, range),
            _ => unreachable!(),
        };
        assert_rel(ssim, case["ssim"].as_f64().unwrap(), 1e-10, &format!("{name} ssim"));
        assert_rel(im::psnr(&r, &t, range), case["psnr"].as_f64().unwrap(), 1e-12, &format!("{name} psnr"));
    }
}

#[test]
fn hand_cases() {
    // Identical images: SSIM exactly 1, PSNR +inf (as scikit-image).
    let img: Vec<f32> = (0..144).map(|i| (i % 7) as f32 / 7.0).collect();
    assert!((im::ssim(&img, &img, 12, 12, 1.0) - 1.0).abs() < 1e-12);
    assert_eq!(im::psnr(&img, &img, 1.0), f64::INFINITY);
    // Constant offset 0.1 on range 1: MSE 0.01 -> 20 dB.
    let shifted: Vec<f32> = img.iter().map(|v| v + 0.1).collect();
    let mse: f64 = img.iter().zip(&shifted).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum::<f64>() / 144.0;
    assert!((im::psnr(&img, &shifted, 1.0) - 10.0 * (1.0 / mse).log10()).abs() < 1e-12);
    assert!((im::psnr(&img, &shifted, 1.0) - 20.0).abs() < 1e-5);
    // Two channels: the mean of the per-channel values.
    let other: Vec<f32> = img.iter().map(|v| 1.0 - v).collect();
    let both_r = [img.clone(), img.clone()].concat();
    let both_t = [img.clone(), other.clone()].concat();
    let want = (1.0 + im::ssim(&img, &other, 12, 12, 1.0)) / 2.0;
    assert!((im::ssim_channels(&both_r, &both_t, 2, 12, 12, 1.0) - want).abs() < 1e-12);
}

#[test]
fn invalid_input_gives_nan() {
    let img = vec![0.5f32; 100];
    assert!(im::ssim(&img, &img, 10, 10, 1.0).is_nan(), "smaller than the 11x11 window");
    assert!(im::ssim(&img, &img, 11, 11, 1.0).is_nan(), "length does not match the shape");
    let img = vec![0.5f32; 121];
    assert!(im::ssim(&img, &img, 11, 11, 0.0).is_nan());
    assert!(im::ssim(&img, &img, 11, 11, f64::NAN).is_nan());
    assert!(im::psnr(&[], &[], 1.0).is_nan());
    assert!(im::psnr(&img, &img[1..], 1.0).is_nan());
    assert!(im::psnr(&img, &img, -1.0).is_nan());
    assert!(im::ssim_channels(&img, &img, 0, 11, 11, 1.0).is_nan());
    assert!(im::ssim_channels(&img, &img, 2, 11, 11, 1.0).is_nan());
}
