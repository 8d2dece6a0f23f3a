from slabproof.run import signals

signals.install()  # first: a signal during start-up (loading Z3, rich) ends the run like any other
try:
    from slabproof.cli import main
except KeyboardInterrupt as e:
    import sys

    print(f"slabproof: interrupted{'' if e.args[:1] in ((), ('SIGINT',)) else ' by ' + str(e.args[0])}",
          file=sys.stderr)
    raise SystemExit(4) from None

raise SystemExit(main())
