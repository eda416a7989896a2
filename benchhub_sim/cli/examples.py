"""``benchhub-sim examples``: list the shipped examples, or copy them into a folder."""

from __future__ import annotations

import argparse

from benchhub_sim.cli.common import EXIT_OK, add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub,
        "examples",
        description="""
        List the examples shipped with the package (job specs, clusters, jobs files and
        an SWF trace), one line about each. --copy DIR copies them into DIR, keeping
        their folders so the jobs files still find their specs, to try every command
        on; --path prints only the folder they are in.
        """,
        examples=[
            "benchhub-sim examples",
            "benchhub-sim examples --copy ex && cd ex && benchhub-sim validate specs/*.yml",
            'D=$(benchhub-sim examples --path) && benchhub-sim plan "$D/specs/pingpong.yml" \\\n'
            '      --cluster "$D/clusters/small.yml"',
        ],
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--copy",
        metavar="DIR",
        help="copy the examples into DIR, created if needed; nothing there is replaced "
        "(default: only list them)",
    )
    what.add_argument("--path", action="store_true", help="print the examples' folder only")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """List, copy, or locate the shipped examples."""
    from benchhub_sim._version import __version__
    from benchhub_sim.shipped import KINDS, copy_examples, examples_dir, list_examples

    if args.path:
        print(examples_dir())
        return EXIT_OK
    if args.copy is not None:
        files = copy_examples(args.copy)
        folders = sorted({f.parts[0] for f in files})
        print(f"copied {len(files)} files to {args.copy}: {', '.join(f + '/' for f in folders)}")
        print(f"try: cd {args.copy} && benchhub-sim validate specs/*.yml")
        return EXIT_OK
    root = examples_dir()
    found = list_examples()
    print(f"examples shipped with benchhub_sim {__version__}, in {root}")
    width = max((len(e.path.name) for e in found), default=0)
    for kind, title in KINDS:
        mine = [e for e in found if e.kind == kind]
        if mine:
            print(f"\n{title} ({kind}/)")
            for e in mine:
                print(f"  {e.path.name:<{width}}  {e.description}")
    print("\ncopy them: benchhub-sim examples --copy DIR")
    return EXIT_OK
