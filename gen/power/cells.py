"""Verilog simulation models of standard cells, written from their Liberty descriptions.

A gate-level netlist instantiates library cells (``NAND2X1``, ``DFFPOSX1``, ...); to simulate it,
each cell needs a behavioural model. The OSU 0.18 µm package ships none with its liberty, so
:func:`cell_models` writes them from what the liberty states of each cell, which is also what
synthesis mapped against: an output's ``function`` (and ``three_state``), the ``ff`` group
(``next_state``, ``clocked_on``, asynchronous ``clear``/``preset``) and the ``latch`` group
(``data_in``, ``enable``).

The models have zero delay. Flip-flops assign with non-blocking assignments and combinational
outputs are continuous assignments, so a clock gated by logic (the clock-gating cells of
:mod:`.netlist`) reaches its flip-flops in the same time step, before any flip-flop output changes:
the usual zero-delay gate-level semantics.

Liberty Boolean syntax (Liberty User Guide, "function"): ``!a`` or ``a'`` is NOT, ``a b``,
``a*b`` or ``a&b`` is AND, ``a+b`` or ``a|b`` is OR, ``a^b`` is XOR, ``0``/``1`` are constants.
"""

import re

__all__ = ["to_verilog", "cell_model", "cell_models"]

_FN_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_\[\]]*|[01]|[!'()*&+|^])")


def _tokens(text):
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        match = _FN_TOKEN.match(text, pos)
        if not match:
            raise ValueError(f"Liberty function {text!r}: cannot read {text[pos:]!r}")
        out.append(match.group(1))
        pos = match.end()
        # Keep juxtaposition visible: an operand followed by an operand (or "(" / "!") is AND.
        while pos < len(text) and text[pos] == " ":
            pos += 1
    return out


def to_verilog(function, rename=None):
    """A Verilog expression for a Liberty Boolean ``function``.

    ``rename`` maps variable names (e.g. an ``ff`` group's state ``IQ``) to Verilog names.
    Precedence, from loosest: OR, AND, XOR, NOT (as the Liberty guide lists them).

    Raises
    ------
    ValueError
        The function uses syntax outside the Liberty Boolean operators.
    """
    rename = rename or {}
    tokens = _tokens(function)
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1] if pos <= len(tokens) else None

    def starts_operand(token):
        return token is not None and (token in ("(", "!", "0", "1") or
                                      re.match(r"[A-Za-z_]", token) is not None)

    def or_expr():
        terms = [and_expr()]
        while peek() in ("+", "|"):
            take()
            terms.append(and_expr())
        return terms[0] if len(terms) == 1 else "(" + " | ".join(terms) + ")"

    def and_expr():
        terms = [xor_expr()]
        while peek() in ("*", "&") or starts_operand(peek()):
            if peek() in ("*", "&"):
                take()
            terms.append(xor_expr())
        return terms[0] if len(terms) == 1 else "(" + " & ".join(terms) + ")"

    def xor_expr():
        terms = [unary()]
        while peek() == "^":
            take()
            terms.append(unary())
        return terms[0] if len(terms) == 1 else "(" + " ^ ".join(terms) + ")"

    def unary():
        if peek() == "!":
            take()
            return f"(~{unary()})"
        value = primary()
        while peek() == "'":
            take()
            value = f"(~{value})"
        return value

    def primary():
        token = take()
        if token == "(":
            value = or_expr()
            if take() != ")":
                raise ValueError(f"Liberty function {function!r}: unbalanced parentheses")
            return value
        if token in ("0", "1"):
            return f"1'b{token}"
        if token is None or not re.match(r"[A-Za-z_]", token):
            raise ValueError(f"Liberty function {function!r}: expected an operand, not {token!r}")
        return rename.get(token, token)

    expr = or_expr()
    if pos != len(tokens):
        raise ValueError(f"Liberty function {function!r}: unexpected {tokens[pos]!r}")
    return expr


def _edge(expr, cell):
    """``posedge X``/``negedge X`` for a clock or asynchronous-control expression of one pin."""
    text = expr.replace(" ", "")
    match = re.fullmatch(r"\(?(!)?([A-Za-z_]\w*)(')?\)?", text)
    if not match:
        raise ValueError(f"Cell {cell}: clock/control {expr!r} is not a single (inverted) pin")
    inverted = bool(match.group(1)) != bool(match.group(3))
    return ("negedge " if inverted else "posedge ") + match.group(2)


def cell_model(cell):
    """The Verilog module of one :class:`~.liberty.Cell`."""
    names = list(cell.pins)
    lines = [f"module {cell.name} ({', '.join(names)});"]
    for pin in cell.pins.values():
        lines.append(f"  {'input' if pin.direction == 'input' else 'output'} {pin.name};")
    rename = {}
    if cell.ff is not None:
        ff = cell.ff
        state = ff["args"]
        rename = {state[0]: "iq", state[1]: "(~iq)"} if len(state) > 1 else {state[0]: "iq"}
        lines.append("  reg iq;")
        events = [_edge(ff["clocked_on"], cell.name)]
        body = []
        clear, preset = ff.get("clear"), ff.get("preset")
        if clear:
            events.append(_edge(clear, cell.name))
            body.append(f"if ({to_verilog(clear)}) iq <= 1'b0;")
        if preset:
            events.append(_edge(preset, cell.name))
            body.append(("else " if body else "") + f"if ({to_verilog(preset)}) iq <= 1'b1;")
        body.append(("else " if body else "") + f"iq <= {to_verilog(ff['next_state'])};")
        lines.append(f"  always @({' or '.join(events)})")
        lines += [f"    {b}" for b in body]
    elif cell.latch is not None:
        latch = cell.latch
        state = latch["args"]
        rename = {state[0]: "iq", state[1]: "(~iq)"} if len(state) > 1 else {state[0]: "iq"}
        lines.append("  reg iq;")
        lines.append(f"  always @* if ({to_verilog(latch['enable'])}) "
                     f"iq = {to_verilog(latch['data_in'])};")
    for pin in cell.outputs:
        if pin.function is None:
            raise ValueError(f"Cell {cell.name}: output {pin.name} has no function")
        expr = to_verilog(pin.function, rename)
        if pin.three_state:
            expr = f"({to_verilog(pin.three_state, rename)}) ? 1'bz : {expr}"
        lines.append(f"  assign {pin.name} = {expr};")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


def cell_models(library, names):
    """Verilog models of the cells ``names`` of ``library``, one module each."""
    return "".join(cell_model(library.cells[name]) for name in sorted(set(names)))
