"""``zoo pretrain``: train a ResNet-12 backbone on a few-shot dataset's base classes."""

from __future__ import annotations

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from zoo import data
from zoo.commands.common import stderr_console
from zoo.environment import resolve_device
from zoo.errors import ZooError
from zoo.fewshot.datasets import sources
from zoo.fewshot.pretrain import SCHEDULES, CheckpointMismatch, PretrainConfig, pretrain

HELP = """Pre-train a ResNet-12 with cross-entropy on the base classes of a few-shot
dataset and save it, with its metadata, for the `fewshot` task's `checkpoint`.
The checkpoint is rewritten after every epoch; running the same command again
resumes an interrupted run (and does nothing once it is complete)."""

DEFAULTS = PretrainConfig()


def register(sub) -> None:
    p = sub.add_parser("pretrain", help="pre-train a few-shot backbone", description=HELP)
    p.add_argument("--dataset", required=True, choices=sorted(sources()), help="whose base classes to train on")
    p.add_argument("--out", required=True, help="checkpoint file to write (and resume from)")
    p.add_argument("--width", type=float, default=DEFAULTS.width, help="channel multiplier of 64-160-320-640 (default 1)")
    p.add_argument("--epochs", type=int, default=DEFAULTS.epochs, help=f"default {DEFAULTS.epochs}")
    p.add_argument("--batch", type=int, default=DEFAULTS.batch, help=f"default {DEFAULTS.batch}")
    p.add_argument("--lr", type=float, default=DEFAULTS.lr, help=f"peak learning rate (default {DEFAULTS.lr})")
    p.add_argument("--weight-decay", type=float, default=DEFAULTS.weight_decay, help=f"default {DEFAULTS.weight_decay}")
    p.add_argument("--schedule", choices=SCHEDULES, default=DEFAULTS.schedule, help="cosine (default) or step (x0.1 at 50%% and 75%%)")
    p.add_argument("--image-size", type=int, default=0, help="side length (default: the dataset's standard size)")
    p.add_argument("--holdout", type=float, default=DEFAULTS.holdout, help="fraction of each base class held out for accuracy (default 0.1)")
    p.add_argument("--seed", type=int, default=DEFAULTS.seed, help="initialization, data order and augmentation seed")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto",
                   help="where to train: cpu, cuda, or auto (cuda when available; default)")
    p.add_argument("--data-root", help="folder with offline datasets (default: ZOO_DATA_ROOT)")
    p.add_argument("--download", action="store_true", help="let torchvision download CIFAR-100 into the data root")
    p.add_argument("--force", action="store_true", help="start over even if --out holds a checkpoint")
    p.set_defaults(handler=main)


def main(args) -> int:
    console = stderr_console()
    if args.data_root:
        data.set_data_root(args.data_root)
    config = PretrainConfig(
        dataset=args.dataset, width=args.width, epochs=args.epochs, batch=args.batch, lr=args.lr,
        weight_decay=args.weight_decay, schedule=args.schedule, image_size=args.image_size,
        holdout=args.holdout, seed=args.seed,
    )
    progress = Progress(
        TextColumn("pre-training"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"), console=console,
    )
    with progress:
        bar = progress.add_task("steps", total=None, status="")

        def on_step(step, total, loss, acc):
            progress.update(bar, completed=step, total=total, status=f"loss {loss:.3f} · acc {acc:.1%}")

        def on_epoch(epoch, record):
            held = "" if record["holdout_acc"] is None else f", held-out {record['holdout_acc']:.1%}"
            progress.console.print(f"epoch {epoch}/{config.epochs}: loss {record['loss']:.3f}, train {record['train_acc']:.1%}{held} ({record['seconds']:.0f} s)")

        try:
            meta = pretrain(config, args.out, device=resolve_device(args.device), download=args.download,
                            force=args.force, on_step=on_step, on_epoch=on_epoch)
        except (ValueError, FileNotFoundError, CheckpointMismatch) as error:
            raise ZooError(str(error)) from None
        except KeyboardInterrupt:
            console.print(f"interrupted; {escape(str(args.out))} keeps every finished epoch, run the same command again to resume")
            return 130
    held = "" if meta["holdout_acc"] is None else f", held-out accuracy {meta['holdout_acc']:.1%}"
    console.print(f"{escape(str(args.out))}: ResNet-12 width {meta['width']} on {meta['dataset']} base classes ({len(meta['classes'])}), "
                  f"{meta['epochs_done']} epochs, train accuracy {meta['train_acc']:.1%}{held}")
    return 0
