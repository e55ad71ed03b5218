//! The one key table. Dispatch, the footer and the `?` help overlay all read it, so what a key does,
//! what the footer says and what help lists cannot drift apart. Mutating actions are marked here and
//! refused in one gate at dispatch when the console is read-only.

use super::app::PaneId;
use super::messages::DemoEvent;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything a key (or a `:` command) can ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    NextPane,
    PrevPane,
    ShowPane(PaneId),
    Down,
    Up,
    PageDown,
    PageUp,
    /// Half a page (Ctrl-D / Ctrl-U, as in less, vim and k9s).
    HalfPageDown,
    HalfPageUp,
    Top,
    Bottom,
    Filter,
    Sort,
    /// Reverse the sort order.
    ReverseSort,
    /// Esc: back out one level (clear the filter, then the selection).
    Back,
    Details,
    CommandLine,
    Help,
    Refresh,
    Quit,
    ToggleSelect,
    SelectAll,
    /// Open the approval dialog for the selected diffs.
    Approve,
    /// Change a scale set's capacity (`:scale N`): the guarded-scale executor.
    Scale(Option<u32>),
    /// Toggle scale-in protection on the instance under the cursor.
    Protect,
    /// Show the doctor's findings (`!`).
    Findings,
    /// Run the doctor again (`:doctor`; read-only).
    Doctor,
    /// Drain an HA node (`:drain NODE`, or `d` on the nodes pane).
    Drain(Option<String>),
    /// Turn drain off on the selected node (`u`).
    Undrain,
    /// Set the selected node's task cap (`c`).
    TaskCap,
    /// Delete the selected node (`D`): typed name; force only with an explicit choice.
    DeleteNode,
    /// Record that the selected node was verified on the node itself and raise its task cap
    /// (`v`, as `node admit`): the checks visible from here are read first and shown.
    Admit,
    /// Show or switch the profile (`:profile [NAME]`).
    Profile(Option<String>),
    /// Demo only: events in the simulated world, so a newcomer can watch the product react.
    Demo(DemoEvent),
}

impl Action {
    /// Changes something: the managed systems (Azure, Octopus) or, for the demo's world keys, the
    /// simulated world. Refused in read-only mode, in one place: `update::dispatch`.
    pub fn is_mutating(&self) -> bool {
        matches!(
            self,
            Action::Approve
                | Action::Scale(_)
                | Action::Protect
                | Action::Drain(_)
                | Action::Undrain
                | Action::TaskCap
                | Action::DeleteNode
                | Action::Admit
                | Action::Demo(_)
        )
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Pane(PaneId),
    Demo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chord {
    pub code: KeyCode,
    pub ctrl: bool,
}

const fn key(code: KeyCode) -> Chord {
    Chord { code, ctrl: false }
}
const fn ch(c: char) -> Chord {
    Chord { code: KeyCode::Char(c), ctrl: false }
}
const fn ctrl(c: char) -> Chord {
    Chord { code: KeyCode::Char(c), ctrl: true }
}

pub struct Binding {
    pub chords: &'static [Chord],
    /// How help and the footer write the keys.
    pub label: &'static str,
    pub action: Action,
    /// The footer's word for it.
    pub short: &'static str,
    pub help: &'static str,
    pub scope: Scope,
    /// Shown in the footer (the rest are in `?`).
    pub footer: bool,
}

const fn bind(
    chords: &'static [Chord],
    label: &'static str,
    action: Action,
    short: &'static str,
    help: &'static str,
    scope: Scope,
    footer: bool,
) -> Binding {
    Binding { chords, label, action, short, help, scope, footer }
}

use Scope::{Demo as InDemo, Global, Pane};

pub static BINDINGS: &[Binding] = &[
    bind(&[ch('?')], "?", Action::Help, "help", "show or hide this help", Global, true),
    bind(&[key(KeyCode::Tab)], "Tab", Action::NextPane, "pane", "next pane", Global, true),
    bind(&[key(KeyCode::BackTab)], "S-Tab", Action::PrevPane, "pane", "previous pane", Global, false),
    bind(&[ch('1')], "1", Action::ShowPane(PaneId::Instances), "", "scale-set instances", Global, false),
    bind(&[ch('2')], "2", Action::ShowPane(PaneId::Targets), "", "Octopus targets", Global, false),
    bind(&[ch('3')], "3", Action::ShowPane(PaneId::Nodes), "", "HA nodes", Global, false),
    bind(&[ch('4')], "4", Action::ShowPane(PaneId::Diffs), "", "pending diffs (the plan)", Global, false),
    bind(
        &[ch('5')],
        "5",
        Action::ShowPane(PaneId::Journal),
        "",
        "the journal: who did what, why, and how it ended",
        Global,
        false,
    ),
    bind(&[ch('j'), key(KeyCode::Down)], "j/↓", Action::Down, "", "next row", Global, false),
    bind(&[ch('k'), key(KeyCode::Up)], "k/↑", Action::Up, "", "previous row", Global, false),
    bind(&[key(KeyCode::PageDown)], "PgDn", Action::PageDown, "", "page down", Global, false),
    bind(&[key(KeyCode::PageUp)], "PgUp", Action::PageUp, "", "page up", Global, false),
    bind(&[ctrl('d')], "^D", Action::HalfPageDown, "", "half a page down", Global, false),
    bind(&[ctrl('u')], "^U", Action::HalfPageUp, "", "half a page up", Global, false),
    bind(&[ch('g'), key(KeyCode::Home)], "g", Action::Top, "", "first row", Global, false),
    bind(&[ch('G'), key(KeyCode::End)], "G", Action::Bottom, "", "last row", Global, false),
    bind(&[ch('/')], "/", Action::Filter, "filter", "filter rows (a regular expression)", Global, true),
    bind(&[], "/!", Action::Filter, "", "filter out rows that match (/!text)", Global, false),
    bind(&[ch('s')], "s", Action::Sort, "sort", "sort by the next column", Global, false),
    bind(&[ch('o')], "o", Action::ReverseSort, "", "reverse the sort order", Global, false),
    bind(
        &[key(KeyCode::Esc)],
        "Esc",
        Action::Back,
        "",
        "back out one level: close, clear the filter, clear the selection",
        Global,
        false,
    ),
    bind(
        &[key(KeyCode::Enter)],
        "Enter",
        Action::Details,
        "details",
        "details (why, evidence)",
        Global,
        true,
    ),
    bind(
        &[ch(' ')],
        "Space",
        Action::ToggleSelect,
        "select",
        "select or unselect a diff",
        Pane(PaneId::Diffs),
        true,
    ),
    bind(&[ch('a')], "a", Action::SelectAll, "all", "select every change", Pane(PaneId::Diffs), true),
    bind(
        &[ch('A')],
        "A",
        Action::Approve,
        "approve",
        "approve the selected diffs",
        Pane(PaneId::Diffs),
        true,
    ),
    bind(
        &[ch('d')],
        "d",
        Action::Drain(None),
        "drain",
        "drain the selected node (resumes an unfinished drain; answers its question)",
        Pane(PaneId::Nodes),
        true,
    ),
    bind(
        &[ch('u')],
        "u",
        Action::Undrain,
        "undrain",
        "turn drain off on the selected node",
        Pane(PaneId::Nodes),
        true,
    ),
    bind(
        &[ch('v')],
        "v",
        Action::Admit,
        "admit",
        "admit the selected node: show its checks, record the verification, raise its task cap",
        Pane(PaneId::Nodes),
        // Not in the footer: at 120 columns it would push `q quit` off the line.
        false,
    ),
    bind(
        &[ch('c')],
        "c",
        Action::TaskCap,
        "task cap",
        "set the selected node's task cap (0 = UI-only)",
        Pane(PaneId::Nodes),
        true,
    ),
    bind(
        &[ch('D')],
        "D",
        Action::DeleteNode,
        "delete",
        "delete the selected node (type its name)",
        Pane(PaneId::Nodes),
        true,
    ),
    bind(
        &[ch('S')],
        "S",
        Action::Scale(None),
        "scale",
        "scale the scale set (guarded; from the nodes pane, drain-first)",
        Global,
        false,
    ),
    bind(
        &[ch('p')],
        "p",
        Action::Protect,
        "protect",
        "toggle scale-in protection on the instance",
        Pane(PaneId::Instances),
        true,
    ),
    bind(&[ch('!')], "!", Action::Findings, "findings", "doctor findings, each with its fix", Global, false),
    bind(&[ch('r')], "r", Action::Refresh, "refresh", "refresh now", Global, true),
    bind(
        &[ch(':')],
        ":",
        Action::CommandLine,
        "command",
        "command line (Tab completes, ↑/↓ history; :help lists the commands)",
        Global,
        true,
    ),
    bind(
        &[ch('+')],
        "+",
        Action::Demo(DemoEvent::ScaleOut),
        "scale out",
        "demo: scale the set out by 2",
        InDemo,
        true,
    ),
    bind(
        &[ch('-')],
        "-",
        Action::Demo(DemoEvent::ScaleIn),
        "scale in",
        "demo: scale the set in by 2",
        InDemo,
        true,
    ),
    bind(
        &[ch('x')],
        "x",
        Action::Demo(DemoEvent::KillNode),
        "kill node",
        "demo: kill an HA node",
        InDemo,
        true,
    ),
    bind(
        &[ch('f')],
        "f",
        Action::Demo(DemoEvent::Fault),
        "fault",
        "demo: make ARM fail for a while",
        InDemo,
        true,
    ),
    bind(
        &[ch('q'), ctrl('c')],
        "q/^C",
        Action::Quit,
        "quit",
        "quit (asks first while a change or job runs)",
        Global,
        true,
    ),
];

/// What decides which bindings are live.
#[derive(Debug, Clone, Copy)]
pub struct KeyContext {
    pub pane: PaneId,
    pub read_only: bool,
    pub demo: bool,
}

impl Binding {
    /// Live here: in scope and, when read-only, not mutating (hidden, and refused at dispatch too).
    pub fn is_live(&self, ctx: &KeyContext) -> bool {
        let in_scope = match self.scope {
            Scope::Global => true,
            Scope::Pane(pane) => pane == ctx.pane,
            Scope::Demo => ctx.demo,
        };
        in_scope && !(ctx.read_only && self.action.is_mutating())
    }

    fn matches(&self, event: &KeyEvent) -> bool {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        self.chords.iter().any(|chord| chord.code == event.code && chord.ctrl == ctrl)
    }
}

/// The action bound to `event` here. Mutating keys resolve even when read-only, so the one gate
/// at dispatch can say why it refuses instead of the key silently doing nothing.
pub fn lookup(event: &KeyEvent, ctx: &KeyContext) -> Option<Action> {
    let lenient = KeyContext { read_only: false, ..*ctx };
    BINDINGS.iter().find(|b| b.is_live(&lenient) && b.matches(event)).map(|b| b.action.clone())
}

/// Bindings to show (help overlay, footer).
pub fn visible<'a>(ctx: &'a KeyContext) -> impl Iterator<Item = &'static Binding> + 'a {
    BINDINGS.iter().filter(move |b| b.is_live(ctx))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pane: PaneId, read_only: bool, demo: bool) -> KeyContext {
        KeyContext { pane, read_only, demo }
    }

    #[test]
    fn no_chord_is_bound_twice_in_one_context() {
        for pane in PaneId::ALL {
            let c = ctx(pane, false, true);
            let live: Vec<&Binding> = visible(&c).collect();
            for (i, a) in live.iter().enumerate() {
                for b in &live[i + 1..] {
                    for chord in a.chords {
                        assert!(
                            !b.chords.contains(chord),
                            "{:?} bound to {} and {}",
                            chord,
                            a.label,
                            b.label
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn read_only_hides_every_mutating_binding() {
        for pane in PaneId::ALL {
            assert!(visible(&ctx(pane, true, true)).all(|b| !b.action.is_mutating()));
        }
        assert!(visible(&ctx(PaneId::Diffs, false, false)).any(|b| b.action == Action::Approve));
    }

    #[test]
    fn demo_keys_only_in_demo() {
        let key = KeyEvent::from(KeyCode::Char('+'));
        assert_eq!(lookup(&key, &ctx(PaneId::Instances, false, false)), None);
        assert_eq!(
            lookup(&key, &ctx(PaneId::Instances, false, true)),
            Some(Action::Demo(DemoEvent::ScaleOut))
        );
    }

    #[test]
    fn approve_resolves_only_on_the_diffs_pane() {
        let key = KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT);
        assert_eq!(lookup(&key, &ctx(PaneId::Targets, false, false)), None);
        assert_eq!(lookup(&key, &ctx(PaneId::Diffs, true, false)), Some(Action::Approve));
    }
}
