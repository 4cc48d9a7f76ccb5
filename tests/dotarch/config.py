"""Config of the test-only dot-product unit."""

from dataclasses import dataclass

from sparseforge.gen.schema import check_keys, int_field

__all__ = ["DotConfig", "parse_dot", "dot_to_dict"]


@dataclass(frozen=True)
class DotConfig:
    """``lanes`` products per beat, summed into one ``acc_width`` accumulator per job."""

    name: str
    lanes: int
    act_width: int
    weight_width: int
    acc_width: int

    arch = "dot"

    @property
    def notation(self):
        return f"DP{self.lanes}"


def parse_dot(raw, name):
    check_keys(raw, "", ("arch", "name", "lanes", "widths"))
    lanes = int_field(raw, "lanes", "", 1, 64)
    widths = raw.get("widths", {})
    check_keys(widths, "widths", ("act", "weight", "acc"))
    act = int_field(widths, "act", "widths", 2, 16, default=8)
    weight = int_field(widths, "weight", "widths", 2, 16, default=8)
    acc = int_field(widths, "acc", "widths", act + weight, 64, default=32)
    return DotConfig(name=name, lanes=lanes, act_width=act, weight_width=weight, acc_width=acc)


def dot_to_dict(cfg):
    return {"arch": "dot", "name": cfg.name, "lanes": cfg.lanes,
            "widths": {"act": cfg.act_width, "weight": cfg.weight_width, "acc": cfg.acc_width}}
