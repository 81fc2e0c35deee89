"""The bench's results: the JSON file, the targets checked, the plots, and the generated
part of docs/performance.md (between its two markers; the text around them is written by
hand and kept)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.procs import ROOT

RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "performance.md"
PLOTS = ROOT / "docs" / "performance"
BEGIN, END = "<!-- bench results: begin -->", "<!-- bench results: end -->"
SMALL, LARGE = "2k", "200k"


def growth(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    pages, queries = results["pages"], results["queries"]
    rows = {}
    for key in results["labels"]:
        if key == "healthz":
            continue
        small, large = pages[SMALL][key], pages[LARGE][key]
        rows[key] = {
            "p50_small_ms": small["p50_ms"],
            "p50_large_ms": large["p50_ms"],
            "ratio": round(large["p50_ms"] / small["p50_ms"], 2),
            "queries_small": queries[SMALL][key],
            "queries_large": queries[LARGE][key],
        }
    return rows


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue with the measured value and, if missed, by how much."""
    large = results["pages"][LARGE]
    labels = results["labels"]
    keys = [k for k in labels if k != "healthz"]
    checks: list[dict[str, Any]] = []

    def add(name: str, value: float, goal: float, *, higher: bool, unit: str) -> None:
        met = value >= goal if higher else value <= goal
        factor = (goal / value if higher else value / goal) if value else float("inf")
        checks.append(
            {
                "target": name,
                "value": round(value, 2),
                "goal": goal,
                "unit": unit,
                "met": met,
                "missed_by": None if met else round(factor, 2),
            }
        )

    for key in keys:
        add(
            f"{labels[key]}: throughput ≥ 25% of /healthz",
            round(100 * large[key]["share_of_ceiling"], 1),
            25,
            higher=True,
            unit="%",
        )
    for key in keys:
        add(
            f"{labels[key]}: p95 < 50 ms at 16 clients",
            large[key]["p95_ms"],
            50,
            higher=False,
            unit="ms",
        )
    for key, row in results["growth"].items():
        add(
            f"{labels[key]}: median at 200k within 1.3× of 2k",
            row["ratio"],
            1.3,
            higher=False,
            unit="×",
        )
    for key, row in results["growth"].items():
        checks.append(
            {
                "target": f"{labels[key]}: same number of queries at both sizes",
                "value": f"{row['queries_small']} / {row['queries_large']}",
                "goal": "equal",
                "unit": "",
                "met": row["queries_small"] == row["queries_large"],
                "missed_by": None,
            }
        )
    mail = results["mail"]
    for count in (1, 4):
        add(
            f"Worker send rate, {count} worker{'s' if count > 1 else ''}: ≥ 80% of the "
            "plain smtplib loop",
            round(100 * mail[f"worker_{count}"]["share_of_smtplib"], 1),
            80,
            higher=True,
            unit="%",
        )
    add(
        "First page of a 200-page PDF in under 1 s",
        results["files"]["pdf"]["first_preview_s"],
        1.0,
        higher=False,
        unit="s",
    )
    return checks


def plots(results: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    PLOTS.mkdir(parents=True, exist_ok=True)
    labels = results["labels"]
    keys = [k for k in labels if k != "healthz"]
    names = [labels[k].replace("Admin → ", "Admin→\n").replace(", ", ",\n") for k in keys]
    pages = results["pages"]
    x = list(range(len(keys)))
    made = []

    fig, ax = plt.subplots(figsize=(11, 4.5))
    for offset, size in ((-0.2, SMALL), (0.2, LARGE)):
        ax.bar(
            [i + offset for i in x],
            [100 * pages[size][k]["share_of_ceiling"] for k in keys],
            width=0.4,
            label=f"{size} proofs",
        )
    ax.axhline(25, color="red", linestyle="--", label="target 25%")
    ax.set_ylabel("throughput, % of /healthz")
    ax.set_xticks(x, names, fontsize=8)
    ax.set_title("Throughput of each page as a share of the trivial endpoint (16 connections)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(PLOTS / "throughput.png", dpi=90)
    made.append("throughput.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(11, 4.5))
    for offset, pct in ((-0.27, "p50_ms"), (0, "p95_ms"), (0.27, "p99_ms")):
        ax.bar(
            [i + offset for i in x],
            [pages[LARGE][k][pct] for k in keys],
            width=0.27,
            label=pct.replace("_ms", ""),
        )
    ax.axhline(50, color="red", linestyle="--", label="target p95 50 ms")
    ax.set_yscale("log")
    ax.set_ylabel("latency at 200k proofs, ms (log)")
    ax.set_xticks(x, names, fontsize=8)
    ax.set_title("Latency at 16 concurrent clients, 200,000 proofs")
    ax.legend()
    fig.tight_layout()
    fig.savefig(PLOTS / "latency.png", dpi=90)
    made.append("latency.png")
    plt.close(fig)

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    sizes = [results["sizes"][SMALL]["proofs"], results["sizes"][LARGE]["proofs"]]
    for k in keys:
        left.plot(sizes, [pages[s][k]["rps"] for s in (SMALL, LARGE)], marker="o", label=labels[k])
        right.plot(sizes, [pages[s][k]["p50_ms"] for s in (SMALL, LARGE)], marker="o")
    left.plot(
        sizes,
        [pages[s]["healthz"]["rps"] for s in (SMALL, LARGE)],
        marker="o",
        linestyle="--",
        color="black",
        label="/healthz",
    )
    for axis, title in ((left, "requests/s"), (right, "median latency, ms")):
        axis.set_xscale("log")
        axis.set_xlabel("proofs in the database")
        axis.set_title(title)
    left.set_yscale("log")
    left.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(PLOTS / "growth.png", dpi=90)
    made.append("growth.png")
    plt.close(fig)
    return made


def _pages_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| Page | Size | req/s | % of /healthz | p50 ms | p95 ms | p99 ms | queries | "
        "CPU ms per request (in-process) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, label in results["labels"].items():
        for size in (SMALL, LARGE):
            run = results["pages"][size][key]
            share = "100" if key == "healthz" else f"{100 * run['share_of_ceiling']:.1f}"
            queries = results["queries"][size].get(key, "")
            cpu = results["cpu_ms"][size].get(key, "")
            lines.append(
                f"| {label} | {size} | {run['rps']:.0f} | {share} | "
                f"{run['p50_ms']:.1f} | {run['p95_ms']:.1f} | {run['p99_ms']:.1f} | "
                f"{queries} | {cpu} |"
            )
    return lines


def _growth_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| Page | p50 at 2k, ms | p50 at 200k, ms | ratio | queries 2k / 200k |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for key, row in results["growth"].items():
        lines.append(
            f"| {results['labels'][key]} | {row['p50_small_ms']:.1f} | "
            f"{row['p50_large_ms']:.1f} | {row['ratio']:.2f} | "
            f"{row['queries_small']} / {row['queries_large']} |"
        )
    return lines


def _mail_lines(mail: dict[str, Any]) -> list[str]:
    return [
        "| Sender | messages | seconds | messages/s | share of smtplib loop |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(
            f"| plain smtplib, {name} | {mail[k]['messages']} | {mail[k]['seconds']} | "
            f"{mail[k]['rate']} | {'100%' if k == 'smtplib_new_connection' else ''} |"
            for k, name in (
                ("smtplib_new_connection", "a connection per message"),
                ("smtplib_one_connection", "one connection for all"),
            )
        ),
        *(
            f"| Proofdesk worker × {n} | {mail[f'worker_{n}']['messages']} | "
            f"{mail[f'worker_{n}']['seconds']} | {mail[f'worker_{n}']['rate']} | "
            f"{100 * mail[f'worker_{n}']['share_of_smtplib']:.0f}% |"
            for n in (1, 4)
        ),
        "",
        f"Notify customer now → message in the sink ({mail['notify_latency']['messages']} "
        f"messages, one worker): p50 {mail['notify_latency']['p50_s']:.2f} s, p95 "
        f"{mail['notify_latency']['p95_s']:.2f} s, max {mail['notify_latency']['max_s']:.2f} s.",
        f"The worker runs {mail['queries_per_message']} SQL statements per message sent "
        f"(counted in-process over 20 messages, including claiming the batch).",
    ]


def _files_lines(files: dict[str, Any]) -> list[str]:
    image, pdf = files["image"], files["pdf"]
    return [
        "| Upload | size | answer | first preview | all pages | web worker peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| PNG image | {image['bytes'] / 1e6:.0f} MB | {image['answer_s']:.2f} s | "
        f"{image['first_preview_s']:.2f} s | (one page) | "
        f"{image['web_worker_mb_after']['peak_mb']:.0f} MB (before: "
        f"{image['web_worker_mb_before']['peak_mb']:.0f} MB) |",
        f"| PDF, {pdf['pages']} pages | {pdf['bytes'] / 1e6:.1f} MB | {pdf['answer_s']:.2f} s "
        f"| {pdf['first_preview_s']:.2f} s | {pdf['all_pages_s']:.1f} s | "
        f"{pdf['web_worker_mb_after']['peak_mb']:.0f} MB (before: "
        f"{pdf['web_worker_mb_before']['peak_mb']:.0f} MB) |",
        "",
        f"The same {pdf['pages']} pages: plain pypdfium2 loop {pdf['pypdfium2_s']:.1f} s; the "
        f"app's render function in-process (render + preview and thumbnail JPEGs) "
        f"{pdf['app_render_function_s']:.1f} s; through the worker (queue, storage, database) "
        f"{pdf['all_pages_s']:.1f} s. Peak RSS of the render worker "
        f"{pdf['render_worker_mb']['peak_mb']:.0f} MB, of its render child processes (if "
        f"any) {pdf.get('render_child_peak_mb', 0):.0f} MB; of the web worker's render child "
        f"during the uploads: image {image.get('web_render_child_peak_mb', 0):.0f} MB, PDF "
        f"{pdf.get('web_render_child_peak_mb', 0):.0f} MB.",
    ]


def _several_lines(figures: dict[str, Any] | None) -> list[str]:
    if not figures:
        return ["Not run in this measurement."]
    return [
        "Two gunicorn app servers, three workers, one PostgreSQL, moto's S3 server, login "
        "throttling in Redis: passed. Figures: "
        + ", ".join(
            f"{key.replace('_', ' ')} {value}"
            for key, value in figures.items()
            if isinstance(value, (int, float, str))
        )
    ]


def markdown(results: dict[str, Any], plot_files: list[str]) -> str:
    sizes = results["sizes"]
    lines = [
        BEGIN,
        f"Run of {results['started_at']} (commit {results['commit'][:10]}), "
        f"{results['seconds'] / 60:.1f} minutes, {results['machine']['cpus']} cores; load "
        f"average {results['machine']['load_start'][0]:.1f} at the start and "
        f"{results['machine']['load_end'][0]:.1f} at the end (other work shares the machine). "
        f"gunicorn {results['gunicorn_workers']} sync workers, wrk 2 threads, "
        f"{results['connections']} connections, {results['rounds']} runs of "
        f"{results['seconds_per_page']} s per page and size, each after a run of /healthz on "
        f"the same server (means below). "
        f"Raw figures: `bench/results/{results['file']}`.",
        "",
        "| Size | rows | database | seeded in |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {name}: {s['proofs']:,} proofs, {s['customers']:,} customers, "
            f"{s['designers']} designers | {s['seed']['total_rows']:,} | "
            f"{s['seed']['database_mb']} MB | {s['seed']['seconds']:.0f} s |"
            for name, s in sizes.items()
        ),
        "",
        "### Targets",
        "",
        "| Target | measured | goal | met | missed by |",
        "| --- | ---: | ---: | :---: | ---: |",
        *(
            f"| {t['target']} | {t['value']}{t['unit']} | {t['goal']}{t['unit']} | "
            f"{'yes' if t['met'] else '**no**'} | "
            f"{'' if t['missed_by'] is None else str(t['missed_by']) + '×'} |"
            for t in results["targets"]
        ),
        "",
        "### Pages",
        "",
        *_pages_table(results),
        "",
        "### Growth: 2,000 against 200,000 proofs",
        "",
        *_growth_table(results),
        "",
        *(f"![{name}](performance/{name})" for name in plot_files),
        "",
        "### Mail",
        "",
        *_mail_lines(results["mail"]),
        "",
        "### Files",
        "",
        *_files_lines(results["files"]),
        "",
        "### Several machines",
        "",
        *_several_lines(results.get("several_machines")),
        END,
    ]
    return "\n".join(lines)


def write(results: dict[str, Any], stamp: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    results["file"] = f"{stamp}.json"
    results["growth"] = growth(results)
    results["targets"] = targets(results)
    path = RESULTS / results["file"]
    text = json.dumps(results, indent=1, ensure_ascii=False)
    path.write_text(text + "\n")
    (RESULTS / "latest.json").write_text(text + "\n")
    section = markdown(results, plots(results))
    doc = DOC.read_text() if DOC.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    head, _, rest = doc.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(head + section + tail)
    return path
