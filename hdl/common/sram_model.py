"""The SRAM macros' Verilog: a small behavioural model with no initial contents, instantiated in
place of Amaranth's emission of each ``lib.memory.Memory``.

Every memory of the project is an SRAM macro in a module of its own (:class:`.rams.Ram`,
:class:`sparseforge.hdl.accel.sram.SramBank`, ...), whose contents after reset are unspecified:
a user writes a word before reading it, and the synthesis flows keep the module as a black box.
Amaranth nevertheless writes an initialiser for every bit of every memory (``$meminit_v2``, all
zero here), which on the paper-sized designs is most of the generation time and most of the
Verilog. :func:`convert` passes :class:`SramModels` as the platform: ``lib.memory.Memory``
hands its elaboration to ``platform.get_memory()`` (the override hook Amaranth provides), which
returns an ``Instance`` of :data:`MODEL_NAME`; the model's text is appended once to the Verilog.
The Amaranth simulator elaborates without a platform and keeps ``lib.memory.Memory``, so both
simulations run the same contract:

- one or two write ports, word-wide enables: the word at ``wr_addr`` is ``wr_data`` from the next
  cycle (two ports never write one address in a cycle; the model would keep the second's word);
- read ports, all synchronous or all combinational. A synchronous one loads ``rd_data`` with the
  word at ``rd_addr`` at a clock edge where its ``rd_en`` is high and holds it otherwise; it reads
  the old word of a row written in the same cycle, or the new one with ``TRANSPARENT``. A
  combinational one shows the word at ``rd_addr`` (a row written this cycle changes at the edge).
- no initial contents: a word never written reads as x in Icarus (0 in Verilator), as it did in
  the simulators' copies before this model (which dropped Amaranth's zero initialisers).

A memory outside this contract (a non-zero ``init``, more than two write ports, write ports in
different domains, a write granularity, read ports in other domains or of mixed kinds) keeps
Amaranth's own emission.
"""

from amaranth import Cat, ClockSignal, Const, Instance, Shape, Value
from amaranth.lib import memory

__all__ = ["MODEL_NAME", "MODEL_VERILOG", "SramModels", "convert"]

#: The Verilog module name of the model.
MODEL_NAME = "sparseforge_sram"

#: The model, Verilog-2001; parameters: WIDTH and DEPTH of a word and the memory, ABITS of an
#: address, WRITES ports (1 or 2), READS ports, SYNC_READ (1: synchronous reads, 0:
#: combinational), TRANSPARENT (reads of the first write port's word written this cycle).
MODEL_VERILOG = f"""\
// {MODEL_NAME}: behavioural model of one SRAM macro (sparseforge.hdl.common.sram_model),
// DEPTH words of WIDTH bits, no initial contents, WRITES write ports, READS read ports.
// Port i is bits [i*ABITS +: ABITS] of its addr, bit i of its en, [i*WIDTH +: WIDTH] of its data.
module {MODEL_NAME} #(
  parameter WIDTH = 1,
  parameter DEPTH = 1,
  parameter ABITS = 1,
  parameter WRITES = 1,
  parameter READS = 1,
  parameter SYNC_READ = 1,
  parameter TRANSPARENT = 0
) (
  input clk,
  input [WRITES-1:0] wr_en,
  input [WRITES*ABITS-1:0] wr_addr,
  input [WRITES*WIDTH-1:0] wr_data,
  input [READS-1:0] rd_en,
  input [READS*ABITS-1:0] rd_addr,
  output [READS*WIDTH-1:0] rd_data
);
  reg [WIDTH-1:0] words [0:DEPTH-1];
  integer j;
  always @(posedge clk)
    for (j = 0; j < WRITES; j = j + 1)
      if (wr_en[j])
        words[wr_addr[j*ABITS +: ABITS]] <= wr_data[j*WIDTH +: WIDTH];
  genvar i;
  generate
    for (i = 0; i < READS; i = i + 1) begin : read
      wire [ABITS-1:0] addr = rd_addr[i*ABITS +: ABITS];
      if (SYNC_READ) begin : sync
        reg [WIDTH-1:0] data;
        always @(posedge clk)
          if (rd_en[i])
            data <= (TRANSPARENT && wr_en[0] && wr_addr[0 +: ABITS] == addr)
                    ? wr_data[0 +: WIDTH] : words[addr];
        assign rd_data[i*WIDTH +: WIDTH] = data;
      end else begin : comb
        assign rd_data[i*WIDTH +: WIDTH] = words[addr];
      end
    end
  endgenerate
endmodule
"""


class SramModels:
    """The platform under which every SRAM macro's memory elaborates to the model.

    ``used`` is true once a memory has been replaced (so :func:`convert` appends the model).
    """

    def __init__(self):
        self.used = False

    def get_memory(self, mem):
        """An ``Instance`` of the model for ``mem``, or Amaranth's own memory if ``mem`` is
        outside the model's contract (see the module's docstring)."""
        if not self._fits(mem):
            return memory.Memory.elaborate(mem, None)
        self.used = True
        writes = mem.write_ports
        write = writes[0]
        reads = mem.read_ports
        width = Shape.cast(mem.shape).width
        abits = max(1, len(write.addr))

        def addr(port):      # a depth-1 memory has 0-bit addresses; the model's are 1 bit
            return Value.cast(port.addr) if len(port.addr) else Const(0, 1)

        sync = reads[0].domain != "comb"
        enables = (Cat(port.en for port in reads) if sync
                   else Const((1 << len(reads)) - 1, len(reads)))
        return Instance(
            MODEL_NAME,
            p_WIDTH=width, p_DEPTH=mem.depth, p_ABITS=abits, p_WRITES=len(writes),
            p_READS=len(reads),
            p_SYNC_READ=int(sync), p_TRANSPARENT=int(bool(reads[0].transparent_for)),
            i_clk=ClockSignal(write.domain),
            i_wr_en=Cat(port.en for port in writes),
            i_wr_addr=Cat(addr(port) for port in writes),
            i_wr_data=Cat(port.data for port in writes),
            i_rd_en=enables,
            i_rd_addr=Cat(addr(port) for port in reads),
            o_rd_data=Cat(port.data for port in reads),
        )

    @staticmethod
    def _fits(mem):
        unwritten = all(elem is None or (isinstance(elem, int) and elem == 0)
                        for elem in mem.init)     # None: a layout's default, all zero
        if len(mem.write_ports) not in (1, 2) or not mem.read_ports or not unwritten:
            return False
        write = mem.write_ports[0]
        if any(len(port.en) != 1 or port.domain != write.domain for port in mem.write_ports):
            return False
        domains = {port.domain for port in mem.read_ports}
        transparent = {tuple(port.transparent_for) for port in mem.read_ports}
        return (len(domains) == 1 and domains <= {"comb", write.domain}
                and transparent <= {(), (write,)} and len(transparent) == 1)


def convert(top, name, keep=()):
    """Verilog of ``top`` (module ``name``, reproducible: no source locations) with its SRAM
    macros' memories as instances of the model, the model appended when used, and each distinct
    sub-module written once (:mod:`.shared_modules`) but the modules named in ``keep``."""
    from amaranth.back.verilog import _convert_rtlil_text

    from .shared_modules import rtlil_text
    platform = SramModels()
    text = _convert_rtlil_text(rtlil_text(top, name, platform, keep))
    return text + "\n" + MODEL_VERILOG if platform.used else text
