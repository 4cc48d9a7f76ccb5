"""A component's ports without its body: an ``Instance`` of a module that synthesis keeps as a
black box, for area flows that measure a top without the copies of a unit measured on its own.

Amaranth emits every instance of a component as a module of its own (64 PEs, 64 modules), even
when synthesis then black-boxes them; on a paper-sized top that is most of the conversion time and
of the Verilog. :class:`BlackBox` takes the signature of the component it stands for and elaborates
to one ``Instance`` of ``module`` whose ports are named as Amaranth names the component's own ports
when it is the top of a conversion (path members joined by ``__``, plus ``clk`` and ``rst``);
:func:`stub_verilog` gives that module's declaration, ports only, marked ``(* blackbox *)``, to
append to the Verilog so that Yosys can elaborate the instance. Only the area flow uses it: the
hardware and its simulations elaborate the real component.
"""

from amaranth import ClockSignal, Instance, Module, ResetSignal, Shape
from amaranth.lib import wiring
from amaranth.lib.wiring import In

__all__ = ["BlackBox", "ports", "stub_verilog"]


def ports(signature):
    """``[(direction, name, width)]`` of a component of ``signature`` converted as a top:
    ``"input"``/``"output"``, Amaranth's port name, bits; ``clk`` and ``rst`` first."""
    result = [("input", "clk", 1), ("input", "rst", 1)]
    for path, member, _value in signature.flatten(signature.create()):
        result.append(("input" if member.flow == In else "output",
                       "__".join(str(part) for part in path), Shape.cast(member.shape).width))
    return result


def stub_verilog(module, signature):
    """The Verilog declaration of ``module``: the ports of :func:`ports`, no body."""
    decls = [f"  {d} {f'[{w - 1}:0] ' if w > 1 else ''}{name};" for d, name, w in ports(signature)]
    names = ", ".join(name for _d, name, _w in ports(signature))
    return "\n".join([f"(* blackbox *)\nmodule {module}({names});", *decls, "endmodule", ""])


class BlackBox(wiring.Component):
    """Stands for a component of ``signature``: an ``Instance`` of ``module``, ports as
    :func:`ports`, clocked by the ``sync`` domain.

    Parameters
    ----------
    module : str
        The Verilog module name of the instance (declared by :func:`stub_verilog`).
    signature : wiring.Signature
        The signature of the component it stands for (unflipped, as the component's own).
    """

    def __init__(self, module, signature):
        if not isinstance(module, str) or not module.isidentifier():
            raise ValueError(f"Black-box module name must be an identifier, not {module!r}")
        self._module = module
        super().__init__(signature)

    @property
    def module(self):
        return self._module

    def elaborate(self, platform):
        m = Module()
        conns = {"i_clk": ClockSignal("sync"), "i_rst": ResetSignal("sync")}
        for path, member, value in self.signature.flatten(self):
            name = "__".join(str(part) for part in path)
            conns[f"{'i' if member.flow == In else 'o'}_{name}"] = value
        m.submodules.box = Instance(self._module, **conns)
        return m
