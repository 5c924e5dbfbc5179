//! Documents made from the command-line definition itself, so they can
//! never disagree with it: shell completions (`capsim completions
//! bash|zsh|fish`, by `clap_complete`) and man pages (`capsim man`, by
//! `clap_mangen`).
//!
//! The repository keeps the generated files in `assets/completions/` and
//! `assets/man/` for packagers; `tests/it/docs.rs` checks they are current
//! (regenerate with `CAPSIM_BLESS=1 cargo test --release --test it docs::`).

use super::Cli;
use anyhow::Context;
use clap::CommandFactory;
use std::io::Write;
use std::path::Path;

/// A shell `capsim completions` writes a script for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

impl Shell {
    pub const ALL: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

    /// The file the script is installed as (`capsim.bash`, `_capsim`, `capsim.fish`).
    pub fn file_name(self) -> &'static str {
        match self {
            Shell::Bash => "capsim.bash",
            Shell::Zsh => "_capsim",
            Shell::Fish => "capsim.fish",
        }
    }
}

/// The completion script for `shell`.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cmd = Cli::command();
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(generator, &mut cmd, "capsim", &mut out);
    out
}

/// Every man page: `capsim.1` and one `capsim-<command>.1` per command
/// (`capsim-runs-list.1` for nested ones), as (file name, roff).
pub fn man_pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> anyhow::Result<()> {
        // `build` names each subcommand `capsim-run`, `capsim-runs-list`, ...
        let name = cmd.get_display_name().unwrap_or(cmd.get_name()).to_string();
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
        out.push((format!("{name}.1"), page));
        for sub in cmd.get_subcommands() {
            if !sub.is_hide_set() && sub.get_name() != "help" {
                walk(sub, out)?;
            }
        }
        Ok(())
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, &mut out)?;
    Ok(out)
}

/// `capsim completions SHELL`.
pub fn completions(shell: Shell) -> anyhow::Result<i32> {
    std::io::stdout().write_all(&completion_script(shell))?;
    Ok(0)
}

/// `capsim man [--out DIR]`.
pub fn man(out: Option<&Path>) -> anyhow::Result<i32> {
    let pages = man_pages()?;
    match out {
        None => std::io::stdout().write_all(&pages[0].1)?,
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for (file, page) in &pages {
                let p = dir.join(file);
                std::fs::write(&p, page)
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            super::ui::info(format!(
                "wrote {} man pages into {}",
                pages.len(),
                dir.display()
            ));
        }
    }
    Ok(0)
}
