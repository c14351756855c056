//! The report's layout: the summary model turned into headings, tables, figures and text,
//! once, for the Markdown and HTML renderers.

use super::build::short;
use super::doc::{Block, Cell as DocCell, Table, Text};
use super::figures::{figure, FigureKind, Rendered};
use super::format::{decimals_for, interval, mean_std, num, p_value, signed, slug, MAX_METRIC_COLUMNS};
use super::method::{metric_sections, statistics_text, DELTA_M_FORMULA, DELTA_M_TEXT, DELTA_M_VARIANTS};
use super::model::{ExperimentReport, Report};

/// Lays out the whole report.
pub fn layout(report: &Report, figures: &[Rendered]) -> Vec<Block> {
    let mut out = Vec::new();
    out.push(Block::Heading { level: 1, text: Text::new().t("medmtl report: suite ").c(&report.suite), id: "top".into() });
    let runs = report.method.runs.len();
    let complete = report.method.runs.iter().filter(|r| r.status == "complete").count();
    out.push(Block::Paragraph(
        Text::plain(format!(
            "Rendered from stored results only ({runs} runs, {complete} complete; no retraining). Every number is on the \
             held-out test split; model selection used the validation split only. Section "
        ))
        .b("Method")
        .t(" lists everything needed to reproduce the tables."),
    ));
    for w in &report.warnings {
        out.push(Block::Note(Text::plain(w.clone())));
    }
    out.push(Block::Heading { level: 2, text: "How to read the tables".into(), id: "how-to-read".into() });
    out.push(Block::List(vec![
        Text::new()
            .t("A cell is ")
            .b("mean ± std")
            .t(" over training seeds (sample std, n − 1) and, in brackets, the ")
            .b("95% CI")
            .t(": the mean over seeds of each run's per-sample bootstrap 95% interval on the test set."),
        Text::new().b("Bold").t(": best mean of the column (direction per metric; counts n_* are never ranked)."),
        Text::new()
            .t("On each task's primary metric, ")
            .b("*")
            .t(" / ")
            .b("**")
            .t(": differs from STL in a paired bootstrap test, Holm-adjusted p < 0.05 / < 0.01 (better or worse: compare the means)."),
        Text::new().b("Δm").t(": mean relative change vs STL over tasks and their headline metrics, in %, positive = better."),
    ]));
    let contents: Vec<Text> = report
        .experiments
        .iter()
        .map(|e| {
            Text::new().t("Experiment ").c(&e.name).t(format!(
                " ({}): {} design × weighting combos, {} tasks",
                e.datasets,
                e.combos.len(),
                e.tasks.len()
            ))
        })
        .collect();
    if !contents.is_empty() {
        out.push(Block::Paragraph(Text::plain("Contents:")));
        out.push(Block::List(contents));
    }
    for exp in &report.experiments {
        experiment(&mut out, exp, figures);
    }
    super::pooled_doc::suite(&mut out, &report.pooled);
    super::auxiliary_doc::suite(&mut out, &report.auxiliary);
    super::partial_doc::suite(&mut out, &report.fractions, figures);
    if let Some(lit) = &report.literature {
        super::literature_doc::suite(&mut out, lit);
    }
    super::relatedness_doc::suite(
        &mut out,
        &report.relatedness,
        figure(figures, "", &FigureKind::RelatednessGain),
        figure(figures, "", &FigureKind::Dial),
    );
    if !report.skipped.is_empty() || !report.failed.is_empty() {
        out.push(Block::Heading { level: 2, text: "Skipped experiments and failed runs".into(), id: "skipped".into() });
        let mut items: Vec<Text> = report
            .skipped
            .iter()
            .map(|s| {
                Text::new().t("skipped experiment ").c(&s.experiment).t(format!(
                    " (dataset {}): {}",
                    s.dataset,
                    s.reason.replace('\n', " ")
                ))
            })
            .collect();
        items.extend(report.failed.iter().map(|f| Text::new().t("failed run ").c(&f.run_id).t(format!(": {}", f.reason))));
        out.push(Block::List(items));
    }
    method(&mut out, report);
    out
}

fn experiment(out: &mut Vec<Block>, exp: &ExperimentReport, figures: &[Rendered]) {
    let id = slug(&format!("experiment {}", exp.name));
    out.push(Block::Heading {
        level: 2,
        text: Text::new().t("Experiment ").c(&exp.name).t(format!(" ({})", exp.datasets)),
        id: id.clone(),
    });
    let combos: Vec<String> = exp
        .combos
        .iter()
        .zip(&exp.seeds)
        .map(|(c, s)| format!("{} (seeds {})", c.label(), s.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")))
        .collect();
    out.push(Block::Paragraph(Text::plain(format!("Design × weighting combos: {}.", combos.join("; ")))));
    if exp.stl.is_none() {
        out.push(Block::Note(Text::plain("This experiment has no STL runs: Δm and the tests against STL are not available.")));
    }

    // Δm (nothing to show for an STL-only experiment)
    if !exp.delta_m.rows.is_empty() || exp.delta_m.note.is_some() {
        out.push(Block::Heading { level: 3, text: "Δm against STL".into(), id: format!("{id}-delta-m") });
    }
    if let Some(note) = &exp.delta_m.note {
        out.push(Block::Note(Text::plain(note.clone())));
    }
    if !exp.delta_m.rows.is_empty() {
        let d = 2;
        let mut table = Table {
            header: vec![
                "design".into(),
                "weighting".into(),
                "seeds".into(),
                "Δm (%)".into(),
                "95% CI over seeds".into(),
                "LibMTL ×100 (%)".into(),
                "nash-mtl (%, lower = better)".into(),
            ],
            numeric: vec![false, false, true, true, true, true, true],
            rows: Vec::new(),
        };
        let best = exp.delta_m.rows.iter().map(|r| r.summary.mean).filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
        for r in &exp.delta_m.rows {
            let c = &exp.combos[r.combo];
            let text = if r.summary.n > 1 {
                format!("{} ± {}", signed(r.summary.mean, d), num(r.summary.std, d))
            } else {
                signed(r.summary.mean, d)
            };
            table.rows.push(vec![
                c.design.clone().into(),
                c.weighting.clone().into(),
                r.summary.n.to_string().into(),
                DocCell { text, bold: r.summary.mean == best, ..DocCell::default() },
                interval(r.ci, d).unwrap_or_else(|| "–".into()).into(),
                signed(r.libmtl, d).into(),
                signed(r.nashmtl, d).into(),
            ]);
        }
        out.push(Block::Table(table));
        let used: Vec<String> = exp.delta_m.metrics.iter().map(|(t, ms)| format!("{t}: {}", ms.join(", "))).collect();
        out.push(Block::Paragraph(Text::plain(format!(
            "Metrics averaged per task: {}.{} STL baseline: mean over the STL seeds. LibMTL's convention equals medmtl's \
             whenever every baseline is positive, and nash-mtl's is its negative whenever every task has as many \
             metrics; formulas in Method.",
            used.join("; "),
            auxiliary_note(&exp.delta_m.excluded)
        ))));
        if let Some(f) = figure(figures, &exp.name, &FigureKind::DeltaM) {
            out.push(Block::Figure(f));
        }
    }

    // Task tables
    for task in &exp.tasks {
        out.push(Block::Heading {
            level: 3,
            text: Text::new().t("Task ").c(&task.name).t(format!(
                " ({}{}; primary metric {})",
                task.kind,
                if task.auxiliary { ", auxiliary" } else { "" },
                task.primary
            )),
            id: slug(&format!("{id} task {}", task.name)),
        });
        if let Some([train, val, test]) = task.labelled {
            let fraction =
                task.labelled_fraction.map(|f| format!(" ({}% of the training patients)", num(100.0 * f, 0))).unwrap_or_default();
            out.push(Block::Paragraph(Text::plain(format!(
                "Partly labelled: {train} training{fraction}, {val} validation and {test} test samples carry this task's label; \
                 its loss reads the labelled samples of each batch and its metrics the labelled test samples."
            ))));
        }
        // More than nine metrics do not fit a page: the columns go into balanced parts,
        // each a table of its own with the row labels repeated.
        let parts = task.columns.len().div_ceil(MAX_METRIC_COLUMNS).max(1);
        let per_part = task.columns.len().div_ceil(parts).max(1);
        for (part, columns) in task.columns.chunks(per_part).enumerate() {
            if part > 0 {
                out.push(Block::Paragraph(Text::new().t("Task ").c(&task.name).t(" (continued):")));
            }
            let mut table = Table {
                header: vec!["design".into(), "weighting".into(), "seeds".into()],
                numeric: vec![false, false, true],
                rows: Vec::new(),
            };
            for col in columns {
                let arrow = if col.count {
                    ""
                } else if col.higher_is_better {
                    " ↑"
                } else {
                    " ↓"
                };
                table.header.push(format!("{}{arrow}", col.metric));
                table.numeric.push(true);
            }
            for (c, combo) in exp.combos.iter().enumerate() {
                let mut row: Vec<DocCell> =
                    vec![combo.design.clone().into(), combo.weighting.clone().into(), exp.seeds[c].len().to_string().into()];
                for col in columns {
                    row.push(match &col.cells[c] {
                        // Counts read as numbers of cases: the mean over seeds alone.
                        Some(cell) if col.count => DocCell::new(num(cell.summary.mean, col.decimals)),
                        Some(cell) => DocCell {
                            text: mean_std(cell, col.decimals),
                            sub: interval(cell.ci, col.decimals),
                            bold: cell.best,
                            mark: cell.mark,
                        },
                        None => "–".into(),
                    });
                }
                table.rows.push(row);
            }
            out.push(Block::Table(table));
        }
    }

    // Paired tests
    if !exp.tests.is_empty() {
        out.push(Block::Heading { level: 3, text: "Paired tests against STL (primary metrics)".into(), id: format!("{id}-tests") });
        out.push(Block::Paragraph(Text::plain(
            "Difference = design − STL of the primary metric averaged over the seeds both have, on the same test samples; \
             95% CI and p from the paired bootstrap; Holm-adjusted within each task.",
        )));
        let mut table = Table {
            header: [
                "task",
                "metric",
                "design",
                "weighting",
                "seeds",
                "test samples",
                "B",
                "difference",
                "95% CI",
                "p",
                "p (Holm)",
                "mark",
            ]
            .map(String::from)
            .to_vec(),
            numeric: vec![false, false, false, false, true, true, true, true, true, true, true, false],
            rows: Vec::new(),
        };
        for t in &exp.tests {
            let c = &exp.combos[t.combo];
            let d = decimals_for([t.difference.abs(), t.ci.0.abs(), t.ci.1.abs()]).max(3);
            let mut row: Vec<DocCell> = vec![
                t.task.clone().into(),
                t.metric.clone().into(),
                c.design.clone().into(),
                c.weighting.clone().into(),
                t.seeds.len().to_string().into(),
                t.samples.to_string().into(),
                t.resamples.to_string().into(),
            ];
            match &t.note {
                Some(note) => {
                    row.push(DocCell::new(format!("– ({note})")));
                    row.extend(["–", "–", "–", ""].map(DocCell::from));
                }
                None => row.extend([
                    DocCell::new(signed(t.difference, d)),
                    DocCell::new(interval(t.ci, d).unwrap_or_else(|| "–".into())),
                    DocCell::new(p_value(t.p_value)),
                    DocCell::new(p_value(t.p_holm)),
                    DocCell::new(t.mark),
                ]),
            }
            table.rows.push(row);
        }
        out.push(Block::Table(table));
    }

    // Metric variability
    let agreement = &exp.agreement;
    if !agreement.labels.is_empty() && exp.combos.len() > 1 {
        out.push(Block::Heading {
            level: 3,
            text: "Metric variability: does the ranking depend on the metric?".into(),
            id: format!("{id}-ranks"),
        });
        if agreement.changes.is_empty() {
            out.push(Block::Paragraph(Text::plain("The same combo is best under every metric of every task.")));
        } else {
            out.push(Block::Paragraph(Text::plain("The best combo changes with the metric:")));
            let items = agreement
                .changes
                .iter()
                .map(|ch| {
                    let parts: Vec<String> = ch
                        .winners
                        .iter()
                        .map(|(combos, metrics)| {
                            let names: Vec<String> = combos.iter().map(|&c| exp.combos[c].label()).collect();
                            format!("{} best under {}", names.join(" = "), metrics.join(", "))
                        })
                        .collect();
                    Text::new().b(ch.scope.clone()).t(format!(": {}", parts.join("; ")))
                })
                .collect();
            out.push(Block::List(items));
        }
        let mut ranks = Table { header: vec!["#".into(), "ranking".into()], numeric: vec![true, false], rows: Vec::new() };
        for c in &exp.combos {
            ranks.header.push(c.label());
            ranks.numeric.push(true);
        }
        for (r, label) in agreement.labels.iter().enumerate() {
            let mut row: Vec<DocCell> = vec![format!("R{}", r + 1).into(), label.clone().into()];
            for c in 0..exp.combos.len() {
                let v = agreement.ranks[r][c];
                let text = if v.fract() == 0.0 { num(v, 0) } else { num(v, 1) };
                row.push(DocCell { text, bold: agreement.best[r].contains(&c), ..DocCell::default() });
            }
            ranks.rows.push(row);
        }
        out.push(Block::Paragraph(Text::plain("Rank of each combo under each ranking (1 = best, bold):")));
        out.push(Block::Table(ranks));
        if exp.combos.len() > 2 {
            let mut tau = Table { header: vec!["Kendall τ-b".into()], numeric: vec![false], rows: Vec::new() };
            for r in 0..agreement.labels.len() {
                tau.header.push(format!("R{}", r + 1));
                tau.numeric.push(true);
            }
            for (r, row_values) in agreement.tau.iter().enumerate() {
                let mut row: Vec<DocCell> = vec![format!("R{}", r + 1).into()];
                row.extend(row_values.iter().map(|&v| DocCell::new(num(v, 2))));
                tau.rows.push(row);
            }
            // The heatmap below shows the same numbers; the table is there to copy from.
            out.push(Block::Details {
                summary: format!(
                    "Kendall's τ-b between the rankings R1–R{} above, as a table (– : undefined, e.g. a ranking with all combos tied)",
                    agreement.labels.len()
                ),
                blocks: vec![Block::Table(tau)],
            });
        } else {
            out.push(Block::Paragraph(Text::plain(
                "With two combos, Kendall's τ-b between two rankings is +1 (same winner) or −1 (the other one wins); the \
                 heatmap shows which metrics agree. The full matrix is in tables/*__kendall_tau.csv.",
            )));
        }
        if let Some(f) = figure(figures, &exp.name, &FigureKind::RankHeatmap) {
            out.push(Block::Figure(f));
        }
    }

    super::literature_doc::experiment(out, exp, &id, figure(figures, &exp.name, &FigureKind::LiteratureRanks));
    super::subgroups_doc::experiment(out, exp, &id, |task| figure(figures, &exp.name, &FigureKind::Subgroups(task.to_owned())));
    super::relatedness_doc::experiment(out, exp, &id, figure(figures, &exp.name, &FigureKind::Weights));

    // Cost and Pareto
    if !exp.cost.is_empty() {
        out.push(Block::Heading { level: 3, text: "Cost: parameters, throughput, memory".into(), id: format!("{id}-cost") });
        let mut table = Table {
            header: [
                "design",
                "weighting",
                "parameters",
                "train images/s",
                "÷ reference",
                "inference images/s",
                "train time (s)",
                "peak memory (MiB)",
            ]
            .map(String::from)
            .to_vec(),
            numeric: vec![false, false, true, true, true, true, true, true],
            rows: Vec::new(),
        };
        let ms = |s: &crate::stats::Summary, d: usize| {
            if s.n == 0 {
                "–".to_owned()
            } else if s.n > 1 {
                format!("{} ± {}", num(s.mean, d), num(s.std, d))
            } else {
                num(s.mean, d)
            }
        };
        for row in &exp.cost {
            let c = &exp.combos[row.combo];
            table.rows.push(vec![
                c.design.clone().into(),
                c.weighting.clone().into(),
                row.params.to_string().into(),
                ms(&row.train_images_per_sec, 0).into(),
                ms(&row.relative_throughput, 2).into(),
                ms(&row.inference_images_per_sec, 0).into(),
                ms(&row.train_seconds, 1).into(),
                ms(&row.peak_memory_mib, 0).into(),
            ]);
        }
        out.push(Block::Table(table));
        out.push(Block::Paragraph(Text::plain(
            "Throughput is wall-clock images per second over the training epochs (train) and over test-set inference; \
             \"÷ reference\" divides the training throughput by a fixed reference workload timed in the same invocation, \
             which makes it comparable across machines. Peak memory is the process's peak resident set size.",
        )));
        if let Some(f) = figure(figures, &exp.name, &FigureKind::Pareto) {
            out.push(Block::Figure(f));
        }
    }
    if let Some(f) = figure(figures, &exp.name, &FigureKind::Curves) {
        out.push(Block::Heading { level: 3, text: "Training curves".into(), id: format!("{id}-curves") });
        out.push(Block::Figure(f));
    }
    for s in &exp.scatters {
        if let Some(f) = figure(figures, &exp.name, &FigureKind::Scatter(s.task.clone())) {
            out.push(Block::Heading {
                level: 3,
                text: Text::new().t("Predicted vs true: ").c(&s.task),
                id: slug(&format!("{id} scatter {}", s.task)),
            });
            out.push(Block::Figure(f));
        }
    }
    for g in &exp.galleries {
        if let Some(f) = figure(figures, &exp.name, &FigureKind::Gallery(g.task.clone())) {
            out.push(Block::Heading {
                level: 3,
                text: Text::new().t("Segmentation examples: ").c(&g.task),
                id: slug(&format!("{id} gallery {}", g.task)),
            });
            out.push(Block::Figure(f));
        }
    }
}

fn method(out: &mut Vec<Block>, report: &Report) {
    let m = &report.method;
    out.push(Block::Heading { level: 2, text: "Method".into(), id: "method".into() });
    out.push(Block::Heading { level: 3, text: "Data".into(), id: "method-data".into() });
    if m.from_packed_copy && m.task_kinds.iter().any(|k| k == "segmentation") {
        out.push(Block::Paragraph(
            Text::new()
                .t("Rendered from a packed copy of the results (")
                .c("medmtl pack")
                .t("), which keeps per-image statistics of the test split but none of the datasets' images or masks: ")
                .t("the segmentation examples (galleries) are drawn only in a report of the full results folder."),
        ));
    }
    for d in &m.datasets {
        out.push(Block::Paragraph(Text::new().t("Experiment ").c(&d.experiment).t(": dataset ").b(d.name.clone())));
        let mut items = vec![
            Text::new().b("Description: ").t(d.description.clone()),
            Text::new().b("Citation: ").t(d.citation.clone()),
            Text::new().b("Licence: ").t(d.licence.clone()),
        ];
        if !d.source.is_empty() {
            items.push(Text::new().b("Source: ").t(d.source.clone()));
        }
        items.push(Text::new().b("Splits: ").t(d.splits.clone()));
        items.push(Text::new().b("Preprocessing: ").t(d.preprocessing.clone()));
        for (path, md5) in &d.files {
            items.push(Text::new().b("File: ").c(path.clone()).t(" md5 ").c(md5.clone()));
        }
        out.push(Block::List(items));
    }
    if m.unverified_runs.is_empty() {
        out.push(Block::Paragraph(Text::plain("Every data file matched its catalog md5 (or the data were generated).")));
    } else {
        out.push(Block::Note(Text::plain(format!(
            "Unverified data (md5 differs from the catalog) in runs: {}.",
            m.unverified_runs.join(", ")
        ))));
    }

    out.push(Block::Heading { level: 3, text: "Training setup".into(), id: "method-setup".into() });
    match &m.suite_file {
        Some(f) => {
            out.push(Block::Paragraph(
                Text::new()
                    .t("The runs were made from the suite file ")
                    .c(f.label.clone())
                    .t(" (SHA-256 ")
                    .c(short(&f.hash))
                    .t("…, identical to the runs' suite hash), reproduced here. Re-run with ")
                    .c(format!("bench-all --suite {}", report.suite))
                    .t(" at the revision below. Model selection: per task, the epoch with the best validation primary \
                        metric (multi-task models: the best mean over tasks); STL trains and selects one network per task."),
            ));
            out.push(Block::Details { summary: format!("Suite file {}", f.label), blocks: vec![Block::Code(f.text.clone())] });
        }
        None => out.push(Block::Note(Text::plain(format!(
            "No suite file with the runs' suite hash ({}) ships with this medmtl; keep the suite file with the results to reproduce them.",
            m.suite_hashes.iter().map(|h| short(h).to_owned()).collect::<Vec<_>>().join(", ")
        )))),
    }

    out.push(Block::Heading { level: 3, text: "Metrics".into(), id: "method-metrics".into() });
    out.push(Block::Paragraph(Text::plain(
        "Every metric is recomputed from the stored per-sample test predictions by one code path for all designs \
         (src/metrics). Definitions and edge cases:",
    )));
    for (heading, defs) in metric_sections(&m.task_kinds) {
        out.push(Block::Paragraph(Text::new().b(heading)));
        out.push(Block::List(defs.into_iter().map(|(name, def)| Text::new().c(name).t(format!(": {def}"))).collect()));
    }

    out.push(Block::Heading { level: 3, text: "Δm".into(), id: "method-delta-m".into() });
    out.push(Block::Code(DELTA_M_FORMULA.to_owned()));
    out.push(Block::Paragraph(Text::plain(DELTA_M_TEXT)));
    out.push(Block::List(vec![
        Text::new().b("medmtl (reported): ").c("100 · (1/T) Σ_t (1/K_t) Σ_k s_tk (M_tk − B_tk) / |B_tk|").t(" — %, positive = better"),
        Text::new()
            .b("LibMTL count_improvement: ")
            .c("(1/T) Σ_t (1/K_t) Σ_k −s_tk (B_tk − M_tk) / B_tk")
            .t(" — fraction (shown ×100), positive = better"),
        Text::new()
            .b("nash-mtl delta_fn: ")
            .c("100 · (1/Σ_t K_t) Σ_t Σ_k −s_tk (M_tk − B_tk) / B_tk")
            .t(" — %, flat over all metrics, positive = worse"),
    ]));
    out.push(Block::Paragraph(Text::plain(DELTA_M_VARIANTS)));
    out.push(Block::Paragraph(Text::plain(
        "Δm is undefined (–) when a baseline metric is zero or not finite; leaving the metric out would silently change \
         the definition.",
    )));

    out.push(Block::Heading { level: 3, text: "Statistics".into(), id: "method-statistics".into() });
    out.push(Block::List(statistics_text(m.bootstrap_resamples).into_iter().map(Text::plain).collect()));

    out.push(Block::Heading { level: 3, text: "Environment and provenance".into(), id: "method-environment".into() });
    out.push(Block::List(vec![
        Text::new().b("medmtl version: ").t(m.versions.join(", ")),
        Text::new().b("git revision: ").t(m.revisions.join(", ")),
        Text::new().b("seeds: ").t(m.seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")),
        Text::new().b("hardware: ").t(m.hardware.join("; ")),
        Text::new().b("suite hash: ").t(m.suite_hashes.join(", ")),
    ]));
    let mut runs = Table {
        header: ["run", "seed", "status", "epochs", "selected epoch(s)", "config hash", "revision", "finished"].map(String::from).to_vec(),
        numeric: vec![false, true, false, true, true, false, false, false],
        rows: Vec::new(),
    };
    for r in &m.runs {
        runs.rows.push(vec![
            r.run_id.clone().into(),
            r.seed.to_string().into(),
            r.status.clone().into(),
            r.epochs_run.to_string().into(),
            r.selected_epoch.iter().map(usize::to_string).collect::<Vec<_>>().join(", ").into(),
            short(&r.config_hash).to_owned().into(),
            r.git_revision.clone().into(),
            r.timestamp.clone().into(),
        ]);
    }
    out.push(Block::Details {
        summary: format!("All {} runs (config hashes: first 12 hex digits of the SHA-256 in run.json)", m.runs.len()),
        blocks: vec![Block::Table(runs)],
    });
}

/// The sentence that says which auxiliary tasks Δm and the overall ranking leave out (empty
/// when there are none).
pub(super) fn auxiliary_note(excluded: &[String]) -> String {
    match excluded {
        [] => String::new(),
        [one] => format!(" Auxiliary task {one} is trained and reported but left out of Δm, model selection and the best-design ranking."),
        many => format!(
            " Auxiliary tasks {} are trained and reported but left out of Δm, model selection and the best-design ranking.",
            many.join(", ")
        ),
    }
}
