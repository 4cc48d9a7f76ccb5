"""Package discovery: every folder with an ``__init__.py`` under the four code folders.

``pyproject.toml`` holds the project's metadata; this file only maps the folders to their
``sparseforge.*`` import names, so a new architecture's packages (``hdl/<arch>``, ``sim/<arch>``,
``tb/<arch>``, ``gen/<arch>``) are installed without editing a package list.
"""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
FOLDERS = ("hdl", "gen", "sim", "tb", "constraints")

packages = []
package_dir = {}
for folder in FOLDERS:
    package_dir[f"sparseforge.{folder}"] = folder
    packages.append(f"sparseforge.{folder}")
    for init in sorted((ROOT / folder).rglob("__init__.py")):
        sub = init.parent.relative_to(ROOT / folder)
        if sub.parts:
            packages.append(".".join(("sparseforge", folder, *sub.parts)))

setup(packages=packages, package_dir=package_dir)
