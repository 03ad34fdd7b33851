"""`ndjson-parquet completion`: print the shell code that completes the command (argcomplete).

    eval "$(ndjson-parquet completion bash)"     # in ~/.bashrc
    eval "$(ndjson-parquet completion zsh)"      # in ~/.zshrc
    ndjson-parquet completion fish | source      # in ~/.config/fish/config.fish

Each Tab runs the command in completion mode; it imports only the chosen subcommand's module,
so completing `status --<Tab>` does not load moto or pyarrow.
"""

from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh", "fish", "tcsh", "powershell")
COMPLETED = ("ndjson-parquet",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", nargs="?", choices=SHELLS, default="bash")


def run(args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode

    print(shellcode(list(COMPLETED), shell=args.shell), end="")
    return 0
