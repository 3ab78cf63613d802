import numpy as np

from ektp.synth.biometrics import random_capture_arrays
from services.dedup.matcher import BYTES_PER_PERSON, Gallery, TemplateBatch


def _batch(n, seed):
    return TemplateBatch.from_arrays(**random_capture_arrays(n, np.random.default_rng(seed)))


def _row(batch, i):
    return TemplateBatch(*(getattr(batch, f)[i : i + 1] for f in TemplateBatch.__dataclass_fields__))


def test_add_grows_and_identifies_exact_copies():
    g = Gallery(capacity=16)
    b = _batch(100, 0)
    for i in range(100):
        g.add(f"r{i}", _row(b, i))
    assert len(g) == 100 and "r7" in g
    assert g.identify(_row(b, 7), max_results=1)[0].ref_id == "r7"
    assert g.nbytes >= 100 * BYTES_PER_PERSON


def test_remove_tombstones_then_compacts():
    g = Gallery()
    b = _batch(400, 1)
    g.add_batch([f"r{i}" for i in range(400)], b)
    assert g.remove("r3") and not g.remove("r3")
    assert len(g) == 399 and "r3" not in g
    assert all(c.ref_id != "r3" for c in g.identify(_row(b, 3), max_results=5))
    for i in range(4, 150):  # past a quarter dead: compaction
        g.remove(f"r{i}")
    assert len(g) == 253 and g._n < 400  # compacted once on the way
    g.compact()
    assert g._dead == 0 and g._n == 253
    assert g.identify(_row(b, 200), max_results=1)[0].ref_id == "r200"


def test_add_replaces_an_existing_ref():
    g = Gallery()
    b = _batch(2, 2)
    g.add("x", _row(b, 0))
    g.add("x", _row(b, 1))
    assert len(g) == 1
    assert g.identify(_row(b, 1), max_results=1)[0].fused > 50


def test_first_pass_agrees_with_exhaustive_search():
    g = Gallery(shortlist=64)
    b = _batch(3000, 3)
    g.add_batch([f"r{i}" for i in range(3000)], b)
    for i in (0, 1500, 2999):
        fast = g.identify(_row(b, i), max_results=1)
        slow = g.identify_exhaustive(_row(b, i), max_results=1)
        assert fast[0].ref_id == slow[0].ref_id == f"r{i}"
        assert abs(fast[0].fused - slow[0].fused) < 1e-9
