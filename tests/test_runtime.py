import numpy as np
import pytest

from digits.recognise import combine_views, view_probabilities


def test_each_clip_gets_the_probabilities_of_its_own_views_in_one_batch() -> None:
    """Views `(clips, views, ...)` go through the model as one flat batch and come back per clip and view."""
    views = np.arange(4 * 3 * 2, dtype=np.float32).reshape(4, 3, 2)
    batches = []

    def probabilities(x: np.ndarray) -> np.ndarray:
        batches.append(x.shape)
        return np.stack([x[:, 0], -x[:, 1]], axis=1)

    got = view_probabilities(probabilities, views)
    assert batches == [(12, 2)] and got.shape == (4, 3, 2)
    np.testing.assert_array_equal(got[2, 1], [views[2, 1, 0], -views[2, 1, 1]])
    np.testing.assert_array_equal(got.mean(axis=1)[3], [views[3, :, 0].mean(), -views[3, :, 1].mean()])


def test_views_combine_by_geometric_mean_into_probabilities() -> None:
    """A class one view rules out loses to one that every view finds likely; one view is left as it is."""
    per_view = np.array([[[0.9, 0.1, 0.0], [0.0, 0.6, 0.4], [0.5, 0.5, 0.0]]])
    combined = combine_views(per_view)
    assert combined.shape == (1, 3) and combined.sum() == pytest.approx(1)
    assert combined.argmax() == 1 and per_view.mean(axis=1).argmax() == 0
    np.testing.assert_allclose(combine_views(per_view[:, :1]), per_view[:, 0], atol=1e-9)
