# Sourced by the benchmarks that run PyTorch: makes sure Benchmarks/.venv has the CPU build of
# PyTorch 2.13 and the Python packages named in $pytorch_venv_packages ("module:pip-name" pairs,
# e.g. "PIL:pillow numpy:numpy"), and sets $venv. Needs $root (the repository).
venv="$root/Benchmarks/.venv"
pytorch_venv_modules="torch" pytorch_venv_pips=""
for pair in ${pytorch_venv_packages:-}; do
    pytorch_venv_modules+=", ${pair%%:*}"
    pytorch_venv_pips+=" ${pair#*:}"
done
if ! "$venv/bin/python" -c "import $pytorch_venv_modules" 2>/dev/null; then
    echo "Preparing $venv (PyTorch CPU$pytorch_venv_pips)..." >&2
    [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
    # The CPU wheel: from pip's find-links when this machine provides it (as ours do, offline
    # from download.pytorch.org), otherwise from PyTorch's CPU index.
    "$venv/bin/python" -c "import torch" 2>/dev/null \
        || "$venv/bin/pip" install -q "torch==2.13.0+cpu" 2>/dev/null \
        || "$venv/bin/pip" install -q torch --index-url https://download.pytorch.org/whl/cpu \
               --extra-index-url https://pypi.org/simple
    if [ -n "$pytorch_venv_pips" ]; then "$venv/bin/pip" install -q $pytorch_venv_pips; fi
fi
