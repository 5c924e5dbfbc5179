//! The text of a monthly cost ([`crate::cost::MonthlyCost`]): the lines
//! under the summary table of `capsim run` and `capsim size`, the bullets of
//! `compare.md` and the cost section of `report.md` and `size.md`.

use crate::cost::MonthlyCost;
use crate::format::{count_str, money, money_cents, thousands};
use std::fmt::Write;

/// `$1,234/month`.
pub fn per_month(c: &MonthlyCost) -> String {
    format!("{}/month", money(c.total, &c.currency))
}

/// `$2.35 per user and month (1,000 users)`, or nothing without users.
pub fn per_user(c: &MonthlyCost) -> Option<String> {
    Some(format!(
        "{} per user and month ({} users)",
        money_cents(c.per_user?, &c.currency),
        thousands(u64::from(c.users?))
    ))
}

/// `$1,234/month, $2.35 per user and month (1,000 users)`.
pub fn headline(c: &MonthlyCost) -> String {
    match per_user(c) {
        Some(u) => format!("{}, {u}", per_month(c)),
        None => per_month(c),
    }
}

/// A few lines for the text table of `capsim run` and `capsim size`.
pub fn text(c: &MonthlyCost) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "  monthly cost: {}  ({} h/month at {} prices of {}; indicative, put in your own)",
        headline(c),
        c.hours_per_month,
        c.price_file,
        c.prices_date
    );
    let w0 = c.lines.iter().map(|l| l.component.len()).max().unwrap_or(0);
    let w2 = c.lines.iter().map(|l| l.unit.len()).max().unwrap_or(0);
    for l in &c.lines {
        let _ = writeln!(
            o,
            "    {:<w0$}  {:>6} x {:<w2$}  {:>10}",
            l.component,
            count_str(l.count),
            l.unit,
            money(l.monthly, &c.currency)
        );
    }
    for n in &c.notes {
        let _ = writeln!(o, "    - {n}");
    }
    o
}

/// One Markdown bullet per cost line, then the notes.
pub fn bullets(c: &MonthlyCost) -> String {
    let mut o = String::new();
    for l in &c.lines {
        let _ = writeln!(
            o,
            "- {}: {} x {} = {}",
            l.component,
            count_str(l.count),
            l.unit,
            money(l.monthly, &c.currency)
        );
    }
    for n in &c.notes {
        let _ = writeln!(o, "- note: {n}");
    }
    o
}

/// A Markdown section for `report.md` and `size.md`.
pub fn markdown(c: &MonthlyCost) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\n## Monthly cost\n\n**{}** at the prices of `{}` ({}, {} hours a month). These are indicative list prices: put in your own.\n\n| component | units | unit | per month |\n|---|---|---|---|",
        headline(c),
        c.price_file,
        c.prices_date,
        c.hours_per_month
    );
    for l in &c.lines {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            l.component,
            count_str(l.count),
            l.unit,
            money(l.monthly, &c.currency)
        );
    }
    for n in &c.notes {
        let _ = writeln!(o, "\n- {n}");
    }
    o
}
