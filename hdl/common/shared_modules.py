"""Verilog with each distinct sub-module written once: identical sub-trees of the design (the TPEs
of an array, the MACs of a TPE, the banks of an SRAM) become instances of one shared module.

Amaranth's Verilog back end builds one netlist of the whole flattened design and writes every
sub-module of the hierarchy as a module of its own, so a 32×32-MAC array is 1,056 modules that
differ only in name, each built, checked and written by Amaranth and read back by Yosys: most of
the generation time of the paper-sized designs. :func:`rtlil_text` elaborates the design as
Amaranth does (``Fragment.prepare``: domains resolved, every signal's users known), then finds,
from the root down, sibling-level sub-trees whose statements, instances and hierarchy are the same
once every signal is replaced by its order of first appearance (with its name, shape, initial
value, attributes and field layout): a :class:`_Fingerprint`. Each group of two or more such
sub-trees is written once, as its first member's netlist (the same procedure applied inside it),
and every member is replaced by an ``Instance`` of it whose ports are the member's signals that
are also used outside it (an output where the sub-tree drives it). The rest of the design is then
built by Amaranth as before.

The contract: the Verilog is logically the same design as Amaranth's own emission, and
reproducible (same design, same bytes). A design without repeated sub-trees is written exactly as
Amaranth writes it. The differences where it has them: a shared module's inputs are ports even
where a member's parent ties them to a constant (Amaranth would have folded the constant into
that member's copy), and Amaranth's combinational-loop check runs inside each module, not across
the ports of a shared one (Verilator's lint sees the whole design). Sub-trees holding anything
the fingerprint does not know (memories outside the SRAM model, IO buffers, formal cells, print
statements) are left to Amaranth.
"""

from collections import defaultdict

from amaranth.back import rtlil
from amaranth.hdl import _ast, _ir
from amaranth.lib import wiring

__all__ = ["rtlil_text", "top_ports"]


class _Unsupported(Exception):
    """A sub-tree holds something :class:`_Fingerprint` does not describe."""


class _Fingerprint:
    """The canonical form of one fragment sub-tree (:attr:`key`) and its signals in order of first
    appearance (:attr:`signals`), with the indices of those it drives (:attr:`driven`)."""

    def __init__(self, fragment):
        self.signals = []
        self.driven = set()
        self._index = {}
        self._table = []
        body = self._fragment(fragment)
        self.key = (body, tuple(self._table))

    def _signal(self, signal):
        index = self._index.get(id(signal))
        if index is None:
            index = self._index[id(signal)] = len(self.signals)
            self.signals.append(signal)
            self._table.append(None)
            self._table[index] = (signal.name, len(signal), signal.shape().signed, signal.init,
                                  signal.reset_less, repr(sorted(signal.attrs.items())),
                                  self._format(signal._format))
        return index

    def _format(self, fmt):
        if fmt is None:
            return None
        if isinstance(fmt, _ast.Format.Enum):
            return ("E", self._value(fmt._value), fmt._name, tuple(fmt._variants.items()))
        if isinstance(fmt, _ast.Format.Struct):
            return ("S", self._value(fmt._value),
                    tuple((name, self._format(sub)) for name, sub in fmt._fields.items()))
        if isinstance(fmt, _ast.Format.Array):
            return ("A", self._value(fmt._value), tuple(self._format(sub) for sub in fmt._fields))
        if isinstance(fmt, _ast.Format):
            return ("F", tuple(chunk if isinstance(chunk, str)
                               else (self._value(chunk[0]), chunk[1]) for chunk in fmt._chunks))
        raise _Unsupported(type(fmt).__name__)

    def _value(self, value, lhs=False):
        if isinstance(value, _ast.Signal):
            index = self._signal(value)
            if lhs:
                self.driven.add(index)
            return index
        if isinstance(value, _ast.Const):
            return ("C", value.value, len(value), value.shape().signed)
        if isinstance(value, _ast.Operator):      # u() and s() may be assigned to
            return ("O", value.operator,
                    *(self._value(op, lhs and value.operator in ("u", "s"))
                      for op in value.operands))
        if isinstance(value, _ast.Slice):
            return ("L", value.start, value.stop, self._value(value.value, lhs))
        if isinstance(value, _ast.Part):
            return ("P", value.width, value.stride, self._value(value.value, lhs),
                    self._value(value.offset))
        if isinstance(value, _ast.Concat):
            return ("K", *(self._value(part, lhs) for part in value.parts))
        if isinstance(value, _ast.SwitchValue):
            return ("W", self._value(value.test),
                    tuple((patterns, self._value(elem, lhs)) for patterns, elem in value.cases))
        raise _Unsupported(type(value).__name__)

    def _statement(self, stmt):
        if isinstance(stmt, _ast.Assign):
            return ("=", self._value(stmt.lhs, lhs=True), self._value(stmt.rhs))
        if isinstance(stmt, _ast.Switch):
            return ("?", self._value(stmt.test),
                    tuple((patterns, tuple(self._statement(s) for s in stmts))
                          for patterns, stmts, _src_loc in stmt.cases))
        raise _Unsupported(type(stmt).__name__)

    def _fragment(self, fragment):
        if type(fragment) is _ir.Instance:
            ports = []
            for name, (value, kind) in fragment.ports.items():
                if kind not in ("i", "o") or not isinstance(value, _ast.Value):
                    raise _Unsupported(f"instance port {name} ({kind})")
                ports.append((name, kind, self._value(value, lhs=kind == "o")))
            return ("I", fragment.type, repr(sorted(fragment.parameters.items())),
                    repr(sorted(fragment.attrs.items())), tuple(ports))
        if type(fragment) is not _ir.Fragment:
            raise _Unsupported(type(fragment).__name__)
        body = []
        for domain, stmts in fragment.statements.items():
            if domain == "comb":
                clocking = "comb"
            else:
                cd = fragment.domains[domain]
                clocking = (domain, self._signal(cd.clk),
                            None if cd.rst is None else self._signal(cd.rst),
                            cd.async_reset, cd.clk_edge)
            body.append((clocking, tuple(self._statement(s) for s in stmts)))
        subs = tuple((name, self._fragment(sub)) for sub, name, _src_loc in fragment.subfragments)
        return ("F", tuple(body), subs)


def _origin_class(fragment):
    origins = fragment.origins or ()
    return type(origins[0]) if origins else None


def _groups(design, keep=()):
    """Groups (lists of ``(fragment, fingerprint)``, two or more) of identical sub-trees below
    ``design.fragment``, found level by level from the root: no group lies inside another's
    member, and none holds a module named in ``keep`` (paths). In depth-first order, so the
    result is reproducible."""
    infos = design.fragments
    kept = {tuple(path[:n]) for path in keep for n in range(1, len(path) + 1)}
    by_depth = defaultdict(list)
    for fragment, info in infos.items():      # depth-first order (Design builds it so)
        if (info.depth > 0 and type(fragment) is _ir.Fragment and _origin_class(fragment)
                and info.name not in kept):
            by_depth[info.depth].append(fragment)
    claimed = set()       # id() of the members of the groups found so far
    found = []
    for depth in sorted(by_depth):
        classes = defaultdict(list)
        for fragment in by_depth[depth]:
            parent, inside = infos[fragment].parent, False
            while parent is not None:
                if id(parent) in claimed:
                    inside = True
                    break
                parent = infos[parent].parent
            if not inside:
                classes[_origin_class(fragment)].append(fragment)
        same = defaultdict(list)
        for fragments in classes.values():
            if len(fragments) < 2:
                continue
            for fragment in fragments:
                try:
                    fp = _Fingerprint(fragment)
                except _Unsupported:
                    continue
                same[fp.key].append((fragment, fp))
        for members in same.values():
            if len(members) >= 2:
                found.append(members)
                claimed.update(id(fragment) for fragment, _fp in members)
    return found


class _Writer:
    """Emits the modules of one design into one RTLIL ``Design``; shared modules once each."""

    def __init__(self, keep=()):
        self.keep = [tuple(path.split(".")) for path in keep]
        self.builder = rtlil.Design(emit_src=False)
        self.name_map = _ast.SignalDict()
        self.modules = set()      # the shared modules' names

    def emit(self, design, top):
        """Emit the prepared ``design`` (its fragment tree is modified in place) as module
        ``design.hierarchy``; return whether it has any logic (Amaranth omits it otherwise)."""
        root, ports, name = design.fragment, design.ports, design.hierarchy[0]
        groups = _groups(design, self.keep if top else ())
        if groups:
            for members in groups:
                self._share(design, members)
            design = _ir.Design(root, ports, hierarchy=(name,))
        netlist = _ir.build_netlist(design)
        empty = rtlil.EmptyModuleChecker(netlist)
        for module_idx, module in enumerate(netlist.modules):
            if empty.is_empty(module_idx):
                continue
            module_builder = self.builder.module(".".join(module.name), src_loc=module.src_loc)
            if module_idx == 0 and top:
                module_builder.attribute("top", 1)
            rtlil.ModuleEmitter(module_builder, netlist, module, self.name_map,
                                empty_checker=empty).emit()
        return not empty.is_empty(0)

    def _share(self, design, members):
        infos = design.fragments
        rep, rep_fp = members[0]
        # A port: a signal of the sub-tree also used outside it, in any member.
        boundary = set()
        for fragment, fp in members:
            outer = infos[infos[fragment].parent].used_signals
            inner = infos[fragment].used_signals
            boundary.update(i for i, signal in enumerate(fp.signals)
                            if signal in inner and signal in outer)
        boundary = sorted(boundary)
        names, ports = set(), []
        for i in boundary:
            signal = rep_fp.signals[i]
            name = _ir._add_name(names, signal.name or "port")
            direction = (_ir.PortDirection.Output if i in rep_fp.driven
                         else _ir.PortDirection.Input)
            ports.append((name, i, direction))
        parent = infos[rep].parent
        module = self._unique(infos[parent].name, _origin_class(rep).__name__,
                              {sub_name for _sub, sub_name, _loc in parent.subfragments})
        kept = self.emit(_ir.Design(rep, [(n, rep_fp.signals[i], d) for n, i, d in ports],
                                    hierarchy=(module,)), top=False)
        for fragment, fp in members:
            parent = infos[fragment].parent
            for k, (sub, sub_name, sub_src_loc) in enumerate(parent.subfragments):
                if sub is fragment:
                    break
            if not kept:      # no logic: Amaranth writes nothing for it either
                del parent.subfragments[k]
                continue
            connections = {("o_" if d == _ir.PortDirection.Output else "i_") + n: fp.signals[i]
                           for n, i, d in ports}
            instance = _ir.Instance(module, src_loc=sub_src_loc, **connections)
            parent.subfragments[k] = (instance, sub_name, sub_src_loc)

    def _unique(self, parent_path, class_name, siblings):
        """``<parent's path>.<class>``, suffixed ``$n`` where a sibling or another shared module
        has the name (Amaranth names a module by its path, so none can have it otherwise)."""
        base, n = class_name, 0
        while class_name in siblings or ".".join((*parent_path, class_name)) in self.modules:
            n += 1
            class_name = f"{base}${n}"
        module = ".".join((*parent_path, class_name))
        self.modules.add(module)
        return module


def top_ports(top):
    """``verilog.convert``'s ports of a ``wiring.Component``: its signature, flattened."""
    ports = {}
    for path, member, value in top.signature.flatten(top):
        if isinstance(value, _ast.ValueCastable):
            value = value.as_value()
        if isinstance(value, _ast.Value):
            direction = (_ir.PortDirection.Input if member.flow == wiring.In
                         else _ir.PortDirection.Output)
            ports["__".join(map(str, path))] = (value, direction)
    return ports


def rtlil_text(top, name, platform=None, keep=()):
    """RTLIL of the component ``top`` as module ``name`` (no source locations), its repeated
    sub-trees written once (see the module's docstring), except the modules named in ``keep``
    (``name.sub.subsub`` paths, as Amaranth names them; the SRAM macros that synthesis keeps as
    black boxes by name) and the sub-trees holding them, which keep their own modules."""
    fragment = _ir.Fragment.get(top, platform)
    design = fragment.prepare(ports=top_ports(top), hierarchy=(name,))
    writer = _Writer(keep)
    writer.emit(design, top=True)
    return str(writer.builder)
