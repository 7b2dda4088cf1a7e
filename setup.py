"""Package discovery that pyproject.toml cannot express: the folder `firmware-bridge/` is the
import package `firmware_bridge` (a hyphen is not a valid module name)."""

from setuptools import find_packages, setup

packages = find_packages(include=["protocol*", "edge*", "cloud*", "ops*"])
packages += ["firmware_bridge"] + [
    f"firmware_bridge.{name}" for name in find_packages("firmware-bridge")
]

setup(packages=packages, package_dir={"firmware_bridge": "firmware-bridge"})
