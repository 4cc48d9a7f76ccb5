"""An AXI4-Lite manager for Amaranth's simulator: one write or read at a time, as testbench code.

``bus`` is the subordinate's flipped ``axi_lite_signature`` port (``awaddr``, ``wdata``, …). Both
calls return the response code, so callers can check error answers as well as data.
"""

__all__ = ["axil_write", "axil_read"]


async def axil_write(ctx, bus, addr, data, strb=0xF):
    """Write ``data`` (byte lanes ``strb``) to ``addr``; return ``bresp``."""
    ctx.set(bus.awaddr, addr)
    ctx.set(bus.awvalid, 1)
    ctx.set(bus.wdata, data)
    ctx.set(bus.wstrb, strb)
    ctx.set(bus.wvalid, 1)
    await ctx.tick().until(bus.awready & bus.wready)
    ctx.set(bus.awvalid, 0)
    ctx.set(bus.wvalid, 0)
    ctx.set(bus.bready, 1)
    resp, = await ctx.tick().sample(bus.bresp).until(bus.bvalid)
    ctx.set(bus.bready, 0)
    return resp


async def axil_read(ctx, bus, addr):
    """Read ``addr``; return ``(rdata, rresp)``."""
    ctx.set(bus.araddr, addr)
    ctx.set(bus.arvalid, 1)
    await ctx.tick().until(bus.arready)
    ctx.set(bus.arvalid, 0)
    ctx.set(bus.rready, 1)
    data, resp = await ctx.tick().sample(bus.rdata, bus.rresp).until(bus.rvalid)
    ctx.set(bus.rready, 0)
    return data, resp
