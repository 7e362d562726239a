"""One module per ``tickscope`` subcommand; each has ``add_parser(subparsers)`` and ``run(args) -> int``."""

COMMANDS = ("up", "broker", "worker", "feed", "dashboard", "train", "model_info", "bench", "archiver", "verify", "replay", "export", "calibrate_alerts")
