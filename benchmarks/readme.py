"""Write a benchmark's table into README.md between its ``<!-- NAME:start/end -->`` markers."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def update_readme(text, marker):
    """Replace what README.md holds between the ``marker`` comments with ``text``."""
    readme = README.read_text()
    pattern = re.compile(rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)", re.S)
    if not pattern.search(readme):
        raise SystemExit(f"README.md has no <!-- {marker}:start/end --> markers")
    README.write_text(pattern.sub(lambda m: m.group(1) + text + "\n" + m.group(2), readme))
