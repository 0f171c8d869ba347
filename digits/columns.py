"""What every feature table (MFCC's, Whisper's) shares: the manifest's key columns, and vectors as Arrow lists."""

import numpy as np
import pyarrow as pa

KEYS = ["path", "corpus", "training_only", "label", "speaker", "take", "split"]


def fixed_lists(values: np.ndarray) -> pa.FixedSizeListArray:
    """Arrow column of the rows of `values` `(n, ...)`, each flattened row-major to a float32 vector."""
    flat = values.reshape(len(values), -1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat.ravel(), pa.float32()), flat.shape[1])
