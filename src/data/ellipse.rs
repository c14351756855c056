//! Ellipses in masks: filling an outline, fitting an ellipse to a mask's boundary, and its
//! circumference — how HC18 measures the fetal head circumference (HC).
//!
//! The fit is Fitzgibbon, Pilu and Fisher's direct least-squares ellipse fit ("Direct least
//! square fitting of ellipses", IEEE TPAMI 21(5), 1999) in the numerically stable form of
//! Halir and Flusser (1998), on coordinates centred and scaled first. The circumference uses
//! Ramanujan's second approximation (relative error below 1e-6 for b/a >= 0.3, which covers
//! heads, and 4e-4 at worst, for a flat line), far below pixel effects.
//!
//! Boundary convention: a mask's boundary points are the midpoints between each foreground
//! pixel and each of its 4-neighbours that is background (none at the image border). For a mask
//! rasterised as "pixel centre inside the ellipse" these points lie on the ellipse without
//! bias. HC18's outlines are about 2.5 pixels wide and centred on the drawn ellipse, so on
//! a mask filled with [`fill_outline`] (outline included) they lie about 1.25 pixels
//! outside it: about +8 pixels of circumference, +1.0 mm on average on the staged HC18
//! images. [`fill_fitted_ellipse`] puts the mask edge on the drawn ellipse instead.

/// An ellipse: centre, semi-axes (`a >= b`) and the angle of the `a` axis to the x axis
/// (radians, in (-pi/2, pi/2]). Units are those of the points it was fitted to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ellipse {
    /// Centre, x coordinate.
    pub cx: f64,
    /// Centre, y coordinate.
    pub cy: f64,
    /// Semi-major axis.
    pub a: f64,
    /// Semi-minor axis (`b <= a`).
    pub b: f64,
    /// Angle of the `a` axis to the x axis, radians in (-pi/2, pi/2].
    pub angle: f64,
}

impl Ellipse {
    /// Ramanujan's second approximation of the perimeter.
    pub fn circumference(&self) -> f64 {
        ramanujan_circumference(self.a, self.b)
    }

    /// Area, `pi a b`.
    pub fn area(&self) -> f64 {
        std::f64::consts::PI * self.a * self.b
    }

    /// Whether `(x, y)` lies inside or on the ellipse.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        let (dx, dy) = (x - self.cx, y - self.cy);
        let (c, s) = (self.angle.cos(), self.angle.sin());
        let u = dx * c + dy * s;
        let v = -dx * s + dy * c;
        (u / self.a).powi(2) + (v / self.b).powi(2) <= 1.0
    }
}

/// Ramanujan's second approximation of the perimeter of an ellipse with semi-axes `a`, `b`.
pub fn ramanujan_circumference(a: f64, b: f64) -> f64 {
    if a + b <= 0.0 {
        return 0.0;
    }
    let h = ((a - b) / (a + b)).powi(2);
    std::f64::consts::PI * (a + b) * (1.0 + 3.0 * h / (10.0 + (4.0 - 3.0 * h).sqrt()))
}

/// Fills an outline (non-zero pixels of `outline`): returns 0/1 values, 1 on the outline and
/// on every background region it encloses. Background regions are 4-connected, so an
/// 8-connected 1-pixel outline is a wall. A region that does not touch the image border is
/// enclosed. When no region is (the outline runs off the image, as a few HC18 heads do, or
/// has a gap), a region touching the border counts as enclosed when most of its pixels lie
/// inside the ellipse fitted to the outline pixels, i.e. the region that the outline and the
/// image border close off together. An outline with a gap thus fills nothing but itself.
pub fn fill_outline(outline: &[u8], width: usize, height: usize) -> Vec<u8> {
    assert_eq!(outline.len(), width * height, "outline buffer does not match its size");
    // Label the 4-connected background regions.
    const WALL: u32 = u32::MAX;
    let mut label: Vec<u32> = outline.iter().map(|&v| if v != 0 { WALL } else { 0 }).collect();
    let mut regions: Vec<(usize, bool)> = vec![(0, false)]; // (pixels, touches the border), 1-based
    let mut stack: Vec<usize> = Vec::new();
    for start in 0..label.len() {
        if label[start] != 0 {
            continue;
        }
        let id = regions.len() as u32;
        let (mut pixels, mut border) = (0usize, false);
        label[start] = id;
        stack.push(start);
        while let Some(i) = stack.pop() {
            pixels += 1;
            let (x, y) = (i % width, i / width);
            border |= x == 0 || y == 0 || x + 1 == width || y + 1 == height;
            let mut visit = |j: usize| {
                if label[j] == 0 {
                    label[j] = id;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < width {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - width);
            }
            if y + 1 < height {
                visit(i + width);
            }
        }
        regions.push((pixels, border));
    }
    let mut enclosed: Vec<bool> = regions.iter().map(|&(n, border)| n > 0 && !border).collect();
    if !enclosed.iter().any(|&e| e) {
        let points: Vec<(f64, f64)> =
            (0..label.len()).filter(|&i| label[i] == WALL).map(|i| ((i % width) as f64, (i / width) as f64)).collect();
        if let Some(e) = fit_ellipse(&points) {
            let mut inside = vec![0usize; regions.len()];
            for (i, &l) in label.iter().enumerate() {
                if l != WALL && e.contains((i % width) as f64, (i / width) as f64) {
                    inside[l as usize] += 1;
                }
            }
            for (id, &(n, _)) in regions.iter().enumerate().skip(1) {
                enclosed[id] = 2 * inside[id] > n;
            }
        }
    }
    label.into_iter().map(|l| (l == WALL || enclosed[l as usize]) as u8).collect()
}

/// Rasterises the ellipse fitted to the outline pixels (pixel centres inside it are 1),
/// whose boundary therefore follows the centre line of a thick drawn outline; `None` when
/// no ellipse fits. An alternative to [`fill_outline`] for outlines known to be ellipses.
pub fn fill_fitted_ellipse(outline: &[u8], width: usize, height: usize) -> Option<Vec<u8>> {
    assert_eq!(outline.len(), width * height, "outline buffer does not match its size");
    let points: Vec<(f64, f64)> =
        (0..outline.len()).filter(|&i| outline[i] != 0).map(|i| ((i % width) as f64, (i / width) as f64)).collect();
    let e = fit_ellipse(&points)?;
    Some((0..outline.len()).map(|i| e.contains((i % width) as f64, (i / width) as f64) as u8).collect())
}

/// Boundary points of a binary mask (non-zero = foreground) in pixel coordinates, pixel
/// `(x, y)` having its centre at `(x, y)`: the midpoints between foreground pixels and
/// their background 4-neighbours (see the module notes). Where the mask meets the image
/// border there is no point: the object goes on beyond the image, and the fit extrapolates
/// from the visible part.
pub fn boundary_points(mask: &[u8], width: usize, height: usize) -> Vec<(f64, f64)> {
    assert_eq!(mask.len(), width * height, "mask buffer does not match its size");
    let inside_image = |x: isize, y: isize| x >= 0 && y >= 0 && (x as usize) < width && (y as usize) < height;
    let fg = |x: isize, y: isize| -> bool { inside_image(x, y) && mask[y as usize * width + x as usize] != 0 };
    let mut points = Vec::new();
    for y in 0..height as isize {
        for x in 0..width as isize {
            if !fg(x, y) {
                continue;
            }
            for (dx, dy) in [(1isize, 0isize), (-1, 0), (0, 1), (0, -1)] {
                if inside_image(x + dx, y + dy) && !fg(x + dx, y + dy) {
                    points.push((x as f64 + 0.5 * dx as f64, y as f64 + 0.5 * dy as f64));
                }
            }
        }
    }
    points
}

/// Direct least-squares ellipse fit; `None` for fewer than 6 points or a degenerate set
/// (collinear points, or points that no ellipse fits).
pub fn fit_ellipse(points: &[(f64, f64)]) -> Option<Ellipse> {
    if points.len() < 6 {
        return None;
    }
    // Centre and scale isotropically, so the scatter matrices are well conditioned.
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let s = (points.iter().map(|p| (p.0 - mx).powi(2) + (p.1 - my).powi(2)).sum::<f64>() / n).sqrt();
    if !(s > 0.0 && s.is_finite()) {
        return None;
    }
    // Scatter matrices of D1 = [x^2, xy, y^2] and D2 = [x, y, 1].
    let mut s1 = [[0.0f64; 3]; 3];
    let mut s2 = [[0.0f64; 3]; 3];
    let mut s3 = [[0.0f64; 3]; 3];
    for &(px, py) in points {
        let (x, y) = ((px - mx) / s, (py - my) / s);
        let d1 = [x * x, x * y, y * y];
        let d2 = [x, y, 1.0];
        for i in 0..3 {
            for j in 0..3 {
                s1[i][j] += d1[i] * d1[j];
                s2[i][j] += d1[i] * d2[j];
                s3[i][j] += d2[i] * d2[j];
            }
        }
    }
    let s3_inv = invert3(&s3)?;
    // T = -S3^-1 S2^T ; M = S1 + S2 T
    let s2t = transpose3(&s2);
    let t = scale3(&mul3(&s3_inv, &s2t), -1.0);
    let m = add3(&s1, &mul3(&s2, &t));
    // Premultiply by C1^-1 for C1 = [[0,0,2],[0,-1,0],[2,0,0]].
    let m = [[m[2][0] / 2.0, m[2][1] / 2.0, m[2][2] / 2.0], [-m[1][0], -m[1][1], -m[1][2]], [m[0][0] / 2.0, m[0][1] / 2.0, m[0][2] / 2.0]];
    let mut best: Option<[f64; 3]> = None;
    for lambda in real_eigenvalues3(&m) {
        let Some(v) = null_vector3(&m, lambda) else { continue };
        let constraint = 4.0 * v[0] * v[2] - v[1] * v[1];
        if constraint > 0.0 {
            best = Some(v);
            break;
        }
    }
    let a1 = best?;
    let a2 = mul3v(&t, &a1);
    let conic = [a1[0], a1[1], a1[2], a2[0], a2[1], a2[2]];
    let e = conic_to_ellipse(conic)?;
    Some(Ellipse { cx: e.cx * s + mx, cy: e.cy * s + my, a: e.a * s, b: e.b * s, angle: e.angle })
}

/// Fits an ellipse to the boundary of a binary mask whose pixels are `pixel_width` x
/// `pixel_height` (e.g. mm); the result is in those units.
pub fn fit_mask_ellipse(mask: &[u8], width: usize, height: usize, pixel_width: f64, pixel_height: f64) -> Option<Ellipse> {
    let points: Vec<(f64, f64)> =
        boundary_points(mask, width, height).into_iter().map(|(x, y)| (x * pixel_width, y * pixel_height)).collect();
    fit_ellipse(&points)
}

/// HC18's measurement: the circumference of the ellipse fitted to a (predicted or true)
/// head mask with square pixels of `pixel_size_mm`, in mm. `None` for an empty or
/// degenerate mask.
pub fn head_circumference_mm(mask: &[u8], width: usize, height: usize, pixel_size_mm: f64) -> Option<f64> {
    fit_mask_ellipse(mask, width, height, pixel_size_mm, pixel_size_mm).map(|e| e.circumference())
}

/// Geometric parameters of the conic `A x^2 + B xy + C y^2 + D x + E y + F = 0`.
fn conic_to_ellipse([a, b, c, d, e, f]: [f64; 6]) -> Option<Ellipse> {
    let det = 4.0 * a * c - b * b;
    if det <= 0.0 {
        return None;
    }
    let cx = (b * e - 2.0 * c * d) / det;
    let cy = (b * d - 2.0 * a * e) / det;
    // Value of the conic at the centre: x'^T Q x' = -f0 in centred coordinates.
    let f0 = f + (d * cx + e * cy) / 2.0;
    // Eigen-decomposition of Q = [[a, b/2], [b/2, c]].
    let mean = (a + c) / 2.0;
    let diff = ((a - c) / 2.0).hypot(b / 2.0);
    let (l1, l2) = (mean - diff, mean + diff); // |l1| <= |l2| when both have mean's sign
    let (small, large) = if l1.abs() <= l2.abs() { (l1, l2) } else { (l2, l1) };
    let ra = -f0 / small;
    let rb = -f0 / large;
    if !(ra > 0.0 && rb > 0.0) {
        return None;
    }
    // Direction of the long axis: eigenvector of Q for `small`.
    let angle = if b.abs() < 1e-300 && (a - c).abs() < 1e-300 {
        0.0
    } else {
        let (vx, vy) = if b.abs() > 1e-300 {
            (b / 2.0, small - a)
        } else if a <= c {
            (1.0, 0.0)
        } else {
            (0.0, 1.0)
        };
        let mut t = vy.atan2(vx);
        if t <= -std::f64::consts::FRAC_PI_2 {
            t += std::f64::consts::PI;
        } else if t > std::f64::consts::FRAC_PI_2 {
            t -= std::f64::consts::PI;
        }
        t
    };
    Some(Ellipse { cx, cy, a: ra.sqrt(), b: rb.sqrt(), angle })
}

type M3 = [[f64; 3]; 3];

fn mul3(x: &M3, y: &M3) -> M3 {
    let mut out = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            out[i][j] = (0..3).map(|k| x[i][k] * y[k][j]).sum();
        }
    }
    out
}

fn mul3v(x: &M3, v: &[f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|i| (0..3).map(|k| x[i][k] * v[k]).sum())
}

fn add3(x: &M3, y: &M3) -> M3 {
    let mut out = *x;
    for i in 0..3 {
        for j in 0..3 {
            out[i][j] += y[i][j];
        }
    }
    out
}

fn scale3(x: &M3, s: f64) -> M3 {
    x.map(|row| row.map(|v| v * s))
}

fn transpose3(x: &M3) -> M3 {
    let mut out = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            out[i][j] = x[j][i];
        }
    }
    out
}

fn det3(m: &M3) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

fn invert3(m: &M3) -> Option<M3> {
    let det = det3(m);
    let scale = m.iter().flatten().map(|v| v.abs()).fold(0.0, f64::max).max(1e-300);
    if det.abs() <= 1e-14 * scale.powi(3) {
        return None;
    }
    let mut inv = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            let (r0, r1) = ((j + 1) % 3, (j + 2) % 3);
            let (c0, c1) = ((i + 1) % 3, (i + 2) % 3);
            inv[i][j] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / det;
        }
    }
    Some(inv)
}

/// Real roots of the characteristic polynomial of a 3x3 matrix.
fn real_eigenvalues3(m: &M3) -> Vec<f64> {
    // det(lambda I - M) = lambda^3 + p lambda^2 + q lambda + r
    let tr = m[0][0] + m[1][1] + m[2][2];
    let minors = m[0][0] * m[1][1] - m[0][1] * m[1][0] + m[0][0] * m[2][2] - m[0][2] * m[2][0] + m[1][1] * m[2][2] - m[1][2] * m[2][1];
    let (p, q, r) = (-tr, minors, -det3(m));
    solve_cubic(p, q, r)
}

/// Real roots of x^3 + p x^2 + q x + r (trigonometric / Cardano), refined by Newton steps.
fn solve_cubic(p: f64, q: f64, r: f64) -> Vec<f64> {
    let a = q - p * p / 3.0;
    let b = 2.0 * p * p * p / 27.0 - p * q / 3.0 + r;
    let shift = -p / 3.0;
    let disc = b * b / 4.0 + a * a * a / 27.0;
    let mut roots = if disc > 0.0 {
        let sq = disc.sqrt();
        vec![(-b / 2.0 + sq).cbrt() + (-b / 2.0 - sq).cbrt() + shift]
    } else if a == 0.0 {
        vec![shift]
    } else {
        let rho = (-a / 3.0).sqrt();
        let cos_arg = (-b / 2.0 / rho.powi(3)).clamp(-1.0, 1.0);
        let phi = cos_arg.acos();
        (0..3).map(|k| 2.0 * rho * ((phi + 2.0 * std::f64::consts::PI * k as f64) / 3.0).cos() + shift).collect()
    };
    for x in roots.iter_mut() {
        for _ in 0..3 {
            let f = ((*x + p) * *x + q) * *x + r;
            let df = (3.0 * *x + 2.0 * p) * *x + q;
            if df.abs() > 1e-300 {
                *x -= f / df;
            }
        }
    }
    roots
}

/// A unit vector v with (M - lambda I) v ~ 0: the largest cross product of two rows.
fn null_vector3(m: &M3, lambda: f64) -> Option<[f64; 3]> {
    let mut a = *m;
    for (i, row) in a.iter_mut().enumerate() {
        row[i] -= lambda;
    }
    let cross = |u: &[f64; 3], v: &[f64; 3]| [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
    let candidates = [cross(&a[0], &a[1]), cross(&a[0], &a[2]), cross(&a[1], &a[2])];
    let best = candidates.into_iter().max_by(|x, y| norm(x).total_cmp(&norm(y))).expect("three candidates");
    let n = norm(&best);
    (n > 1e-300).then(|| best.map(|v| v / n))
}

fn norm(v: &[f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Perimeter by numerical integration (reference for Ramanujan's formula).
    fn perimeter(a: f64, b: f64) -> f64 {
        let n = 200_000;
        let mut sum = 0.0;
        let (mut px, mut py) = (a, 0.0);
        for i in 1..=n {
            let t = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
            let (x, y) = (a * t.cos(), b * t.sin());
            sum += (x - px).hypot(y - py);
            (px, py) = (x, y);
        }
        sum
    }

    fn raster(e: &Ellipse, w: usize, h: usize) -> Vec<u8> {
        let mut m = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                m[y * w + x] = e.contains(x as f64, y as f64) as u8;
            }
        }
        m
    }

    #[test]
    fn ramanujan_matches_integration() {
        for (a, b, tol) in [(1.0, 1.0, 1e-6), (3.0, 2.0, 1e-6), (10.0, 3.0, 1e-6), (5.0, 0.5, 5e-5), (1.0, 1e-6, 5e-4)] {
            let rel = (ramanujan_circumference(a, b) - perimeter(a, b)).abs() / perimeter(a, b);
            assert!(rel < tol, "a={a} b={b} rel={rel}");
        }
        assert!((ramanujan_circumference(2.0, 2.0) - 4.0 * std::f64::consts::PI).abs() < 1e-12);
    }

    #[test]
    fn exact_points_give_the_ellipse_back() {
        let truth = Ellipse { cx: 12.0, cy: -4.0, a: 9.0, b: 4.0, angle: 0.6 };
        let pts: Vec<(f64, f64)> = (0..50)
            .map(|i| {
                let t = i as f64 * 0.1256;
                let (u, v) = (truth.a * t.cos(), truth.b * t.sin());
                let (c, s) = (truth.angle.cos(), truth.angle.sin());
                (truth.cx + u * c - v * s, truth.cy + u * s + v * c)
            })
            .collect();
        let e = fit_ellipse(&pts).unwrap();
        for (got, want) in [(e.cx, truth.cx), (e.cy, truth.cy), (e.a, truth.a), (e.b, truth.b), (e.angle, truth.angle)] {
            assert!((got - want).abs() < 1e-6, "{e:?}");
        }
    }

    #[test]
    fn rasterised_ellipse_circumference_within_half_a_percent() {
        for (a, b, angle) in [(60.0, 35.0, 0.52), (40.0, 39.0, 0.0), (70.0, 20.0, -1.2), (25.0, 12.0, 1.57)] {
            let truth = Ellipse { cx: 100.3, cy: 95.7, a, b, angle };
            let mask = raster(&truth, 200, 200);
            let e = fit_mask_ellipse(&mask, 200, 200, 1.0, 1.0).unwrap();
            let rel = (e.circumference() - truth.circumference()).abs() / truth.circumference();
            assert!(rel < 0.005, "a={a} b={b}: fitted {e:?}, rel error {rel}");
            assert!((e.cx - truth.cx).abs() < 0.2 && (e.cy - truth.cy).abs() < 0.2, "{e:?}");
            // In mm with 0.15 mm pixels the circumference scales exactly.
            let hc = head_circumference_mm(&mask, 200, 200, 0.15).unwrap();
            assert!((hc - 0.15 * e.circumference()).abs() < 1e-6);
        }
    }

    #[test]
    fn anisotropic_pixels_are_honoured() {
        // A circle of radius 30 mm drawn with pixels 0.5 mm wide and 0.25 mm tall.
        let (w, h) = (160, 300);
        let mut mask = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let (mx, my) = (x as f64 * 0.5 - 40.0, y as f64 * 0.25 - 37.5);
                mask[y * w + x] = (mx * mx + my * my <= 900.0) as u8;
            }
        }
        let e = fit_mask_ellipse(&mask, w, h, 0.5, 0.25).unwrap();
        let rel = (e.circumference() - 60.0 * std::f64::consts::PI).abs() / (60.0 * std::f64::consts::PI);
        assert!(rel < 0.005, "{e:?} rel {rel}");
    }

    #[test]
    fn fill_outline_fills_a_drawn_ellipse_and_keeps_the_outline() {
        let truth = Ellipse { cx: 50.0, cy: 40.0, a: 30.0, b: 18.0, angle: 0.3 };
        let (w, h) = (100, 80);
        let inside = raster(&truth, w, h);
        // Outline: inside pixels with an outside 8-neighbour (8-connected ring).
        let mut outline = vec![0u8; w * h];
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                if inside[y * w + x] == 1 {
                    let edge = (-1..=1).any(|dy: isize| {
                        (-1..=1).any(|dx: isize| inside[((y as isize + dy) as usize) * w + (x as isize + dx) as usize] == 0)
                    });
                    outline[y * w + x] = if edge { 255 } else { 0 };
                }
            }
        }
        let filled = fill_outline(&outline, w, h);
        assert_eq!(filled, inside);
        // An open outline fills nothing but itself.
        let mut open = outline.clone();
        let first = open.iter().position(|&v| v != 0).unwrap();
        for v in open.iter_mut().skip(first).take(3) {
            *v = 0;
        }
        let leaked = fill_outline(&open, w, h);
        assert_eq!(leaked.iter().filter(|&&v| v == 1).count(), open.iter().filter(|&&v| v != 0).count());
    }

    #[test]
    fn an_outline_cut_by_the_image_border_is_closed_by_the_border() {
        // The top of the ellipse lies above the image, as in HC18's 346_HC.
        let truth = Ellipse { cx: 50.0, cy: 20.0, a: 30.0, b: 24.0, angle: 0.2 };
        let (w, h) = (100, 60);
        let inside = raster(&truth, w, h);
        let mut outline = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let near_out = [(-1isize, 0isize), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1), (-1, 1), (1, -1)].iter().any(|&(dx, dy)| {
                    let (u, v) = (x as isize + dx, y as isize + dy);
                    !truth.contains(u as f64, v as f64)
                });
                outline[y * w + x] = (inside[y * w + x] == 1 && near_out) as u8;
            }
        }
        assert!(outline[..w].contains(&0) && inside[..w].contains(&1), "the ellipse must cross the top row");
        assert_eq!(fill_outline(&outline, w, h), inside);
        // The fit ignores the image border and recovers the whole ellipse.
        let e = fit_mask_ellipse(&inside, w, h, 1.0, 1.0).unwrap();
        let rel = (e.circumference() - truth.circumference()).abs() / truth.circumference();
        assert!(rel < 0.01, "{e:?} rel {rel}");
    }

    #[test]
    fn degenerate_input_gives_none() {
        assert!(fit_ellipse(&[(0.0, 0.0); 3]).is_none());
        let line: Vec<(f64, f64)> = (0..20).map(|i| (i as f64, 2.0 * i as f64)).collect();
        assert!(fit_ellipse(&line).is_none());
        assert!(head_circumference_mm(&[0u8; 100], 10, 10, 1.0).is_none());
    }
}
