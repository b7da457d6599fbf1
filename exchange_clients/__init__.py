"""One package per venue plus the shared base layer; `registry` maps venue names to factories."""
