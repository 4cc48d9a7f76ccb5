"""The stream handshake rules on the stream-level blocks of every architecture, each block
elaborated on its own from the architecture's smallest regression design.

Whole accelerators are too large for the solver within the suite's budget (README, ``formal``),
so the rules — ``valid`` never withdrawn and the payload stable while ``ready`` is low, on every
stream the block drives, assuming the same of the streams it receives — are checked on the blocks
that own the streams, with :func:`sparseforge.gen.formal.prove_verilog`. ``prove`` rows close by
k-induction at the stated depth (every reachable state); ``bmc`` rows, whose induction does not
close at a depth the suite can afford, hold for the stated number of cycles after reset. The
check is shown able to fail in ``test_formal.py``; ``hold`` names side inputs the environment
keeps while a stream is stalled (the step a stalled beat belongs to).

Blocks whose handshake holds only under a contract on their other inputs (what the enclosing
design guarantees) are proved in their architecture's tests with the contract as ``Assume``
statements, each with a mutant: :data:`TOP_OUTPUTS` lists every stream an architecture's top
drives, the block that drives it and the test that proves it, and
:func:`test_every_top_level_output_stream_has_a_proof` checks that the list is complete.
"""

import inspect
from pathlib import Path

import pytest
from amaranth.back import verilog

from sparseforge.gen import registry
from sparseforge.gen.config import parse_config
from sparseforge.gen.emit import _ports
from sparseforge.gen.formal import channels_of, prove_verilog


def _cfg(arch, design):
    return parse_config(dict(registry.get(arch).regression_designs[design][0]), design)


def _unpacker():
    from sparseforge.hdl.sta.unpacker import BlockUnpacker
    return BlockUnpacker(_cfg("sta", "dbb_2x4x2_2x2"))


def _weight_reader():
    from sparseforge.hdl.accel.weight_reader import WeightReader
    return WeightReader(_cfg("accel", "accel_dbb_test"))


def _ccr_arbiter():
    from sparseforge.hdl.ccr.arbiter import BankArbiter
    return BankArbiter(_cfg("ccr", "ccr_sparse_ki_test"))


def _sparsecore_postproc():
    from sparseforge.hdl.sparsecore.postproc import PostProcessor
    return PostProcessor(_cfg("sparsecore", "sparsecore_small"))


def _sparseblox_cache():
    from sparseforge.hdl.sparseblox.cache import SparseBlockCache
    return SparseBlockCache(capacity=4, position_bits=6)


# (architecture, block, factory, mode, depth, hold, the streams it drives or receives)
BLOCKS = [
    ("sta", "BlockUnpacker", _unpacker, "prove", 3,
     {"o__valid": ("nnz", "first", "count", "tile_last")}, {"i__valid", "o__valid"}),
    ("accel", "WeightReader", _weight_reader, "bmc", 6, None, {"weight__valid"}),
    ("ccr", "BankArbiter", _ccr_arbiter, "prove", 3, None, {"i__valid"}),
    ("sparsecore", "PostProcessor", _sparsecore_postproc, "prove", 3, None, {"o__valid"}),
    ("accel/scnn Sparse-Blox", "SparseBlockCache", _sparseblox_cache, "prove", 14, None,
     {"insert__valid", "verdict__valid", "lookup__valid", "hit__valid"}),
]

# Architectures without a block here, and why.
NOT_COVERED = {
    "scnn": "its stream-level blocks (QueuedCrossbar, BlockPruner) only receive streams, so "
            "there is nothing to assert; its output streamer is proved under its input contract "
            "(TOP_OUTPUTS)",
}

# Every stream an architecture's top drives: (architecture, port) -> (the block that drives it,
# the test proving the block's handshake under its input contract, with a mutant).
_AXIL = ("AxiLiteRegisterFile", "tests/common/test_formal_axil.py")
TOP_OUTPUTS = {
    ("sta", "result"): ("ResultDrain", "tests/sta/test_formal_drain.py"),
    ("accel", "m_axis_out"): ("Readback", "tests/accel/test_formal_readback.py"),
    ("scnn", "m_axis_out"): ("OutputStreamer", "tests/scnn/test_formal_outstream.py"),
    ("ccr", "m_axis_o"): ("ObReader", "tests/ccr/test_formal_obreader.py"),
    ("sparsecore", "m_axis_out"): ("OutputMerge", "tests/sparsecore/test_formal_outmerge.py"),
    **{(arch, "s_axil"): _AXIL for arch in ("accel", "scnn", "ccr", "sparsecore")},
}
ROOT = Path(__file__).resolve().parents[2]


def test_every_architecture_is_covered_or_says_why():
    assert set(registry.architectures()) <= {row[0] for row in BLOCKS} | set(NOT_COVERED)


@pytest.mark.parametrize("arch", sorted(registry.BUILTIN))
def test_every_top_level_output_stream_has_a_proof(arch):
    """The top's ports (elaborated from its first regression design, not its logic): each
    channel it drives belongs to a port of :data:`TOP_OUTPUTS`, whose block the top's source
    instantiates and whose test exists."""
    descriptor = registry.get(arch)
    design, (raw, _) = next(iter(descriptor.regression_designs.items()))
    top_class = registry.resolve(descriptor.top)
    top = top_class(parse_config({**raw, "name": design}))
    for obj in (top, *vars(top).values()):      # asked for its ports, never elaborated (nor
        if hasattr(obj, "_MustUse__silence"):   # the blocks its constructor makes)
            obj._MustUse__silence = True
    driven = {c.valid.rsplit("__", 1)[0] for c in channels_of(_ports(top)) if c.direction == "out"}
    expected = {port for a, port in TOP_OUTPUTS if a == arch}
    assert driven == expected
    source = Path(inspect.getsourcefile(top_class)).read_text()
    for port in driven:
        block, test = TOP_OUTPUTS[(arch, port)]
        assert f"{block}(" in source, (arch, port, block)
        assert (ROOT / test).is_file(), test


@pytest.mark.parametrize("arch, block, factory, mode, depth, hold, streams", BLOCKS,
                         ids=[row[1] for row in BLOCKS])
def test_stream_handshake_of_a_block(tmp_path, arch, block, factory, mode, depth, hold, streams):
    top = factory()
    path = tmp_path / f"{block}.v"
    path.write_text(verilog.convert(top, name=block, emit_src=False))
    result = prove_verilog(path, block, _ports(top), depth=depth, mode=mode, hold=hold)
    assert {c.valid for c in result.channels} == streams
    assert result.status == "proved", result.log
