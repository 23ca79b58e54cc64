"""Shared drawing helpers of the 2D phantoms: Voronoi seeds, noise fields, random paths."""

import numpy as np

from medlearn.data.phantoms import common as C


def test_nearest_seed_matches_brute_force():
    rng = np.random.default_rng(0)
    pts = rng.uniform(-2, 22, (30, 2)).astype(np.float32)  # some fall outside and are dropped
    idx, offset = C.nearest_seed((20, 24), pts)
    yy, xx = np.mgrid[:20, :24]
    seed_px = np.rint(pts)
    inside = (seed_px[:, 0] >= 0) & (seed_px[:, 0] < 20) & (seed_px[:, 1] >= 0) & (seed_px[:, 1] < 24)
    d2 = (yy[..., None] - seed_px[:, 0]) ** 2 + (xx[..., None] - seed_px[:, 1]) ** 2
    d2[..., ~inside] = np.inf
    chosen = d2[yy, xx, idx]
    assert inside[idx].all() and np.array_equal(chosen, d2.min(-1))  # a nearest seed (ties may go either way)
    assert np.allclose(offset[0], yy - pts[idx, 0]) and np.allclose(offset[1], xx - pts[idx, 1])
    assert offset.dtype == np.float32


def test_uniform_noise_has_zero_mean_and_unit_variance():
    u = C.uniform_noise(np.random.default_rng(1), (400, 500))
    assert u.dtype == np.float32 and abs(u.mean()) < 0.01 and abs(u.std() - 1) < 0.01


def _lag_correlation(field, lag):
    f = field - field.mean()
    return float((f[:, :-lag] * f[:, lag:]).mean() / f.var())


def test_fractal_noise_weights_its_octaves():
    rng = np.random.default_rng(2)
    fine, coarse = 2.0, 12.0
    for gains in ((1.0, 0.0), (0.0, 1.0), (0.5, 1.0)):
        f = C.fractal_noise(rng, (96, 96), (fine, coarse), gains)
        assert f.dtype == np.float32 and abs(f.mean()) < 1e-4 and abs(f.std() - 1) < 1e-3

    def mean_corr(gains, n=12):
        fields = [C.fractal_noise(rng, (96, 96), (fine, coarse), gains) for _ in range(n)]
        return np.mean([_lag_correlation(f, 4) for f in fields])

    only_fine, only_coarse, mixed = mean_corr((1.0, 0.0)), mean_corr((0.0, 1.0)), mean_corr((0.5, 1.0))
    assert only_fine < mixed < only_coarse
    ref = np.mean([_lag_correlation(C.smooth_noise(rng, (96, 96), coarse), 4) for _ in range(12)])
    assert abs(only_coarse - ref) < 0.08  # one octave alone is smooth_noise's field


def test_walks_are_smooth_paths_of_the_asked_length():
    rng = np.random.default_rng(3)
    starts = np.array([[10.0, 10.0], [50.0, 40.0], [30.0, 5.0]])
    args = (starts, [0.0, 1.0, 2.0], [40.0, 20.0, 10.0], 0.5, 0.01, np.array([5.0, np.inf, 8.0]), 0.05)
    pts, counts = C.walks(rng, *args)
    assert pts.dtype == np.float32 and pts.shape == (3, 80, 2) and list(counts) == [80, 40, 20]
    steps = np.hypot(*np.diff(pts, axis=1).transpose(2, 0, 1))
    assert np.allclose(steps, 0.5, atol=1e-4)  # evenly spaced centre-line points
    assert np.allclose(np.hypot(*(pts[:, 0] - starts).T), 0.5, atol=1e-4)  # the first step leaves the start
    again, _ = C.walks(np.random.default_rng(3), *args)
    assert np.array_equal(pts, again)


def test_every_headline_number_is_a_number_the_phantom_carries():
    from medlearn.data.phantoms import generate, get_generator, list_generators

    assert get_generator("retina_vessels").headline[0] == "vessel_fraction"  # its truth before the borrowed grade
    for case in list_generators():
        headline = get_generator(case).headline
        if headline:
            params = generate(case, n=1, seed=1, size=64)[0].params
            assert all(isinstance(params[name], (int, float)) for name in headline), case
