//! The plan of one `choose` step on one channel, and the two readers of that plan.
//!
//! [`Ladder::new`] is the only place that decides the rung, the displayed titles and the page
//! boundaries; [`Ladder::render`] and [`Ladder::parse_reply`] only read them. Keep it that
//! way: a decision made in one reader alone is how screens and parsers drift apart.

use std::ops::Range;

use sq_domain::Channel;

use super::limits::*;
use super::{
    Button, Choice, FallReason, Fallback, InlineButton, LadderError, LadderOptions, ListRow,
    NAV_BACK_ID, NAV_MORE_ID, Numbered, ONE_PAGE_MAX, PAGE_SIZE, Rendered, RenderedPage, Reply,
    ReplyMatch, Rung, TEXT_BACK, TEXT_MORE, USSD_BACK, USSD_MORE, WebOption, fold,
};
use crate::sms::{analyse, is_gsm7};

/// Choices per USSD page: numbers 1..=97, so 98 ("More") is never a choice.
const USSD_MAX_PER_PAGE: usize = USSD_MORE as usize - 1;

/// Channels grouped by how they show choices. Kiosk and counter screens are web pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Surface {
    WhatsApp,
    Telegram,
    Sms,
    Ussd,
    Web,
}

fn surface(channel: Channel) -> Surface {
    match channel {
        Channel::Whatsapp => Surface::WhatsApp,
        Channel::Telegram => Surface::Telegram,
        Channel::Sms => Surface::Sms,
        Channel::Ussd => Surface::Ussd,
        Channel::Web | Channel::Kiosk | Channel::Counter => Surface::Web,
    }
}

/// The decided layout of a `choose` step on one channel. Borrowing its inputs keeps it cheap
/// to rebuild on every turn, which is how a pure engine uses it.
#[derive(Clone, Debug)]
pub struct Ladder<'a> {
    rung: Rung,
    prompt: &'a str,
    choices: &'a [Choice],
    options: &'a LadderOptions,
    /// What each choice displays on this rung: its label, or `short` where the label did not
    /// fit. Index-aligned with `choices`.
    titles: Vec<&'a str>,
    /// Consecutive, non-empty ranges of `choices` covering all of them exactly once.
    pages: Vec<Range<usize>>,
    fallbacks: Vec<Fallback>,
}

impl<'a> Ladder<'a> {
    /// Decides how `choices` are shown on `channel`.
    pub fn new(
        channel: Channel,
        prompt: &'a str,
        choices: &'a [Choice],
        options: &'a LadderOptions,
    ) -> Result<Self, LadderError> {
        check_choices(choices)?;
        let mut ladder = Ladder {
            rung: Rung::SmsText,
            prompt,
            choices,
            options,
            titles: choices.iter().map(|c| c.label.as_str()).collect(),
            pages: Vec::new(),
            fallbacks: Vec::new(),
        };
        let n = choices.len();
        match surface(channel) {
            Surface::WhatsApp => ladder.plan_whatsapp()?,
            Surface::Telegram => ladder.plan_telegram()?,
            Surface::Sms => {
                ladder.rung = Rung::SmsText;
                ladder.pages = text_pages(n);
            }
            Surface::Ussd => ladder.plan_ussd()?,
            Surface::Web => {
                ladder.rung = if n <= ONE_PAGE_MAX {
                    Rung::WebButtons
                } else {
                    Rung::WebList
                };
                ladder.pages = one_page(n);
            }
        }
        Ok(ladder)
    }

    pub fn rung(&self) -> Rung {
        self.rung
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Rungs this step was too big for, and why (for `flows validate` warnings).
    pub fn fallbacks(&self) -> &[Fallback] {
        &self.fallbacks
    }

    /// Every page, in order (the tenant's preview, and validation of every screen).
    pub fn render_all(&self) -> Vec<RenderedPage> {
        (0..self.pages.len())
            .filter_map(|p| self.render(p).ok())
            .collect()
    }

    fn plan_whatsapp(&mut self) -> Result<(), LadderError> {
        let n = self.choices.len();
        if n <= WA_BUTTONS {
            match self.whatsapp_buttons() {
                Ok(titles) => {
                    self.settle(Rung::WhatsAppButtons, titles);
                    return Ok(());
                }
                Err(reason) => self.fall(Rung::WhatsAppButtons, reason),
            }
        }
        if n <= WA_LIST_ROWS {
            match self.whatsapp_list() {
                Ok(titles) => {
                    self.settle(Rung::WhatsAppList, titles);
                    return Ok(());
                }
                Err(reason) => self.fall(Rung::WhatsAppList, reason),
            }
        }
        self.rung = Rung::WhatsAppText;
        self.pages = text_pages(n);
        self.check_text_pages(WA_TEXT_BODY)
    }

    fn whatsapp_buttons(&self) -> Result<Vec<&'a str>, FallReason> {
        self.check_body(WA_INTERACTIVE_BODY)?;
        if let Some(c) = self.choices.iter().find(|c| description(c).is_some()) {
            return Err(FallReason::HasDescription { key: c.key.clone() });
        }
        let mut titles = Vec::with_capacity(self.choices.len());
        for c in self.choices {
            check_id(c, c.key.chars().count(), WA_BUTTON_ID)?;
            let title = pick_title(c, WA_BUTTON_TITLE)?;
            if titles.contains(&title) {
                return Err(FallReason::DuplicateTitle {
                    title: title.to_owned(),
                });
            }
            titles.push(title);
        }
        Ok(titles)
    }

    fn whatsapp_list(&self) -> Result<Vec<&'a str>, FallReason> {
        self.check_body(WA_INTERACTIVE_BODY)?;
        let button = self.options.list_button.chars().count();
        if self.options.list_button.trim().is_empty() || button > WA_LIST_BUTTON {
            return Err(FallReason::ButtonTextTooLong {
                chars: button,
                limit: WA_LIST_BUTTON,
            });
        }
        let mut titles = Vec::with_capacity(self.choices.len());
        for c in self.choices {
            check_id(c, c.key.chars().count(), WA_ROW_ID)?;
            titles.push(pick_title(c, WA_ROW_TITLE)?);
            if let Some(d) = description(c) {
                let chars = d.chars().count();
                if chars > WA_ROW_DESCRIPTION {
                    return Err(FallReason::DescriptionTooLong {
                        key: c.key.clone(),
                        chars,
                        limit: WA_ROW_DESCRIPTION,
                    });
                }
            }
        }
        Ok(titles)
    }

    fn plan_telegram(&mut self) -> Result<(), LadderError> {
        let n = self.choices.len();
        let keyboard = self.check_body(TG_TEXT).and_then(|()| {
            self.choices
                .iter()
                .try_for_each(|c| check_id(c, c.key.len(), TG_CALLBACK_DATA_BYTES))
        });
        self.pages = text_pages(n);
        match keyboard {
            Ok(()) => {
                self.rung = Rung::TelegramKeyboard;
                Ok(())
            }
            Err(reason) => {
                self.fall(Rung::TelegramKeyboard, reason);
                self.rung = Rung::TelegramText;
                self.check_text_pages(TG_TEXT)
            }
        }
    }

    fn plan_ussd(&mut self) -> Result<(), LadderError> {
        self.rung = Rung::UssdMenu;
        let n = self.choices.len();
        let prompt = non_blank(self.prompt);
        if n <= USSD_MAX_PER_PAGE {
            let whole = ussd_screen(prompt, self.titles.iter().copied(), None, None);
            if self.ussd_fits(&whole) {
                self.pages = one_page(n);
                return Ok(());
            }
        }
        let (more, back) = (
            Some(self.options.more_label.as_str()),
            Some(self.options.back_label.as_str()),
        );
        // Paged: every choice must fit a middle page (both navigation lines) on its own.
        for (i, c) in self.choices.iter().enumerate() {
            let alone = ussd_screen(None, [c.label.as_str()], more, back);
            if self.ussd_fits(&alone) {
                continue;
            }
            match non_blank(c.short.as_deref().unwrap_or_default()) {
                Some(short) if self.ussd_fits(&ussd_screen(None, [short], more, back)) => {
                    self.titles[i] = short;
                }
                _ => {
                    return Err(LadderError::UssdChoiceTooLong {
                        key: c.key.clone(),
                        chars: alone.chars().count(),
                        budget: self.ussd_budget(&alone),
                    });
                }
            }
        }
        // Greedy: fill each page as far as the budget allows. Adding a line never shrinks a
        // page (and can only switch it to the smaller UCS-2 budget), so the first line that
        // does not fit ends the page.
        let mut start = 0;
        while start < n {
            let first = self.pages.is_empty();
            let prompt = if first { prompt } else { None };
            let back = if first { None } else { back };
            let titles = |end: usize| self.titles[start..end].iter().copied();
            if n - start <= USSD_MAX_PER_PAGE
                && self.ussd_fits(&ussd_screen(prompt, titles(n), None, back))
            {
                self.pages.push(start..n);
                break;
            }
            let mut end = start;
            while end < n
                && end - start < USSD_MAX_PER_PAGE
                && self.ussd_fits(&ussd_screen(prompt, titles(end + 1), more, back))
            {
                end += 1;
            }
            if end == start {
                // Each choice fits a page alone, so only the prompt can be in the way.
                let tried = ussd_screen(prompt, titles(start + 1), more, back);
                return Err(LadderError::UssdPromptTooLong {
                    chars: self.prompt.chars().count(),
                    budget: self.ussd_budget(&tried),
                });
            }
            self.pages.push(start..end);
            start = end;
        }
        Ok(())
    }

    fn ussd_budget(&self, text: &str) -> usize {
        let o = self.options;
        if is_gsm7(text) {
            o.ussd_page_budget
        } else {
            o.ussd_page_budget.min(o.ussd_ucs2_page_budget)
        }
    }

    fn ussd_fits(&self, text: &str) -> bool {
        text.chars().count() <= self.ussd_budget(text)
    }

    fn settle(&mut self, rung: Rung, titles: Vec<&'a str>) {
        self.rung = rung;
        self.titles = titles;
        self.pages = one_page(self.choices.len());
    }

    fn fall(&mut self, from: Rung, reason: FallReason) {
        self.fallbacks.push(Fallback { from, reason });
    }

    fn check_body(&self, limit: usize) -> Result<(), FallReason> {
        if non_blank(self.prompt).is_none() {
            return Err(FallReason::EmptyPrompt);
        }
        let chars = self.prompt.chars().count();
        if chars > limit {
            return Err(FallReason::PromptTooLong { chars, limit });
        }
        Ok(())
    }

    fn check_text_pages(&self, limit: usize) -> Result<(), LadderError> {
        for page in 0..self.pages.len() {
            let chars = self.text_page(page).chars().count();
            if chars > limit {
                return Err(LadderError::MessageTooLong { page, chars, limit });
            }
        }
        Ok(())
    }

    fn has_next(&self, page: usize) -> bool {
        page + 1 < self.pages.len()
    }

    fn has_prev(&self, page: usize) -> bool {
        page > 0 && page < self.pages.len()
    }

    /// Numbers that mean "more" and "back" on this rung.
    fn nav_numbers(&self) -> (u32, u32) {
        if self.rung == Rung::UssdMenu {
            (USSD_MORE, USSD_BACK)
        } else {
            (TEXT_MORE, TEXT_BACK)
        }
    }

    /// `(number, choice index)` for each choice on a page.
    fn numbered(&self, page: usize) -> impl Iterator<Item = (u32, usize)> + '_ {
        let range = self.pages.get(page).cloned().unwrap_or(0..0);
        (1u32..).zip(range)
    }

    /// A page of numbered text (SMS, WhatsApp, Telegram).
    fn text_page(&self, page: usize) -> String {
        let with_descriptions = matches!(self.rung, Rung::WhatsAppText | Rung::TelegramText);
        let mut lines: Vec<String> = Vec::new();
        if let Some(p) = non_blank(self.prompt) {
            lines.push(p.to_owned());
        }
        for (n, i) in self.numbered(page) {
            let c = &self.choices[i];
            match description(c).filter(|_| with_descriptions) {
                Some(d) => lines.push(format!("{n}. {} — {d}", self.titles[i])),
                None => lines.push(format!("{n}. {}", self.titles[i])),
            }
        }
        if self.has_next(page) && !self.options.sms_more_hint.is_empty() {
            lines.push(self.options.sms_more_hint.clone());
        }
        if self.has_prev(page) && !self.options.sms_back_hint.is_empty() {
            lines.push(self.options.sms_back_hint.clone());
        }
        lines.join("\n")
    }

    fn ussd_page(&self, page: usize) -> String {
        let range = self.pages.get(page).cloned().unwrap_or(0..0);
        ussd_screen(
            if page == 0 {
                non_blank(self.prompt)
            } else {
                None
            },
            self.titles[range].iter().copied(),
            self.has_next(page)
                .then_some(self.options.more_label.as_str()),
            self.has_prev(page)
                .then_some(self.options.back_label.as_str()),
        )
    }

    /// Renders page `page` (0-based).
    pub fn render(&self, page: usize) -> Result<RenderedPage, LadderError> {
        let range = self
            .pages
            .get(page)
            .cloned()
            .ok_or(LadderError::PageOutOfRange {
                page,
                pages: self.pages.len(),
            })?;
        let (has_next, has_prev) = (self.has_next(page), self.has_prev(page));
        let key = |i: usize| self.choices[i].key.clone();
        let title = |i: usize| self.titles[i].to_owned();
        let web_options = || {
            range
                .clone()
                .map(|i| WebOption {
                    key: key(i),
                    label: self.choices[i].label.clone(),
                    description: description(&self.choices[i]).map(str::to_owned),
                })
                .collect()
        };
        let view = match self.rung {
            Rung::WhatsAppButtons => Rendered::WhatsAppButtons {
                body: self.prompt.to_owned(),
                buttons: range
                    .clone()
                    .map(|i| Button {
                        id: key(i),
                        title: title(i),
                    })
                    .collect(),
            },
            Rung::WhatsAppList => Rendered::WhatsAppList {
                body: self.prompt.to_owned(),
                button: self.options.list_button.clone(),
                rows: range
                    .clone()
                    .map(|i| ListRow {
                        id: key(i),
                        title: title(i),
                        description: description(&self.choices[i]).map(str::to_owned),
                    })
                    .collect(),
            },
            Rung::WhatsAppText => Rendered::WhatsAppText {
                body: self.text_page(page),
            },
            Rung::TelegramKeyboard => {
                let mut rows: Vec<Vec<InlineButton>> = range
                    .clone()
                    .map(|i| {
                        vec![InlineButton {
                            text: title(i),
                            callback_data: key(i),
                        }]
                    })
                    .collect();
                let mut nav = Vec::new();
                if has_prev {
                    nav.push(InlineButton {
                        text: self.options.back_label.clone(),
                        callback_data: NAV_BACK_ID.to_owned(),
                    });
                }
                if has_next {
                    nav.push(InlineButton {
                        text: self.options.more_label.clone(),
                        callback_data: NAV_MORE_ID.to_owned(),
                    });
                }
                if !nav.is_empty() {
                    rows.push(nav);
                }
                Rendered::TelegramMessage {
                    text: self.prompt.to_owned(),
                    inline_keyboard: rows,
                }
            }
            Rung::TelegramText => Rendered::TelegramMessage {
                text: self.text_page(page),
                inline_keyboard: Vec::new(),
            },
            Rung::SmsText => {
                let text = self.text_page(page);
                let info = analyse(&text);
                Rendered::SmsText { text, info }
            }
            Rung::UssdMenu => Rendered::UssdScreen {
                text: self.ussd_page(page),
                more: has_next,
            },
            Rung::WebButtons => Rendered::WebButtons {
                prompt: self.prompt.to_owned(),
                options: web_options(),
            },
            Rung::WebList => Rendered::WebList {
                prompt: self.prompt.to_owned(),
                options: web_options(),
            },
        };
        let numbers = if self.rung.is_numbered() {
            self.numbered(page)
                .map(|(number, i)| Numbered {
                    number,
                    key: key(i),
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(RenderedPage {
            view,
            rung: self.rung,
            page,
            page_count: self.pages.len(),
            has_next,
            has_prev,
            numbers,
        })
    }

    /// Maps a reply to page `page` back to a choice or a page move. Never panics, whatever
    /// the input.
    pub fn parse_reply(&self, page: usize, reply: &Reply) -> ReplyMatch {
        let (has_next, has_prev) = (self.has_next(page), self.has_prev(page));
        let text = match reply {
            Reply::ButtonId(id) => {
                if self.rung == Rung::TelegramKeyboard {
                    if id == NAV_MORE_ID && has_next {
                        return ReplyMatch::NextPage;
                    }
                    if id == NAV_BACK_ID && has_prev {
                        return ReplyMatch::PrevPage;
                    }
                }
                return match_key(self.choices, id);
            }
            Reply::Text(text) => fold(text),
        };
        if text.is_empty() {
            return ReplyMatch::NoMatch;
        }
        if self.rung.is_numbered()
            && let Some(n) = parse_number(&text)
        {
            if let Some((_, i)) = self.numbered(page).find(|&(shown, _)| shown == n) {
                return ReplyMatch::Chosen(self.choices[i].key.clone());
            }
            let (more, back) = self.nav_numbers();
            if n == more && has_next {
                return ReplyMatch::NextPage;
            }
            if n == back && has_prev {
                return ReplyMatch::PrevPage;
            }
            // A number that is not on this page may still be a label ("2025").
        }
        match match_folded(self.choices, &text) {
            ReplyMatch::NoMatch => {}
            found => return found,
        }
        if has_next && text == fold(&self.options.more_label) {
            return ReplyMatch::NextPage;
        }
        if has_prev && text == fold(&self.options.back_label) {
            return ReplyMatch::PrevPage;
        }
        ReplyMatch::NoMatch
    }
}

/// Matching for a step that could not be laid out: no numbers were shown, so only keys,
/// labels and synonyms count.
pub(super) fn match_unpaged(choices: &[Choice], reply: &Reply) -> ReplyMatch {
    match reply {
        Reply::ButtonId(id) => match_key(choices, id),
        Reply::Text(text) => {
            let text = fold(text);
            if text.is_empty() {
                ReplyMatch::NoMatch
            } else {
                match_folded(choices, &text)
            }
        }
    }
}

/// Ids come from our own buttons, so they match keys exactly.
fn match_key(choices: &[Choice], id: &str) -> ReplyMatch {
    choices
        .iter()
        .find(|c| c.key == id)
        .map_or(ReplyMatch::NoMatch, |c| ReplyMatch::Chosen(c.key.clone()))
}

/// Label, `short` or synonym first, then the key itself; ambiguity is no match.
fn match_folded(choices: &[Choice], text: &str) -> ReplyMatch {
    let names = |c: &Choice| {
        fold(&c.label) == text
            || c.short.as_deref().is_some_and(|s| fold(s) == text)
            || c.synonyms.iter().any(|s| fold(s) == text)
    };
    let by_key = |c: &Choice| fold(&c.key) == text;
    for rule in [&names as &dyn Fn(&Choice) -> bool, &by_key] {
        let mut found = choices.iter().filter(|c| rule(c));
        match (found.next(), found.next()) {
            (Some(c), None) => return ReplyMatch::Chosen(c.key.clone()),
            (Some(_), Some(_)) => return ReplyMatch::NoMatch,
            (None, _) => {}
        }
    }
    ReplyMatch::NoMatch
}

/// A folded reply that is only digits (folding already mapped Arabic-Indic digits and
/// trimmed "1." / "(1)"). Long digit strings are not menu numbers.
fn parse_number(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn check_choices(choices: &[Choice]) -> Result<(), LadderError> {
    if choices.is_empty() {
        return Err(LadderError::NoChoices);
    }
    for (index, c) in choices.iter().enumerate() {
        if c.key.is_empty() {
            return Err(LadderError::EmptyKey { index });
        }
        if c.key == NAV_MORE_ID || c.key == NAV_BACK_ID {
            return Err(LadderError::ReservedKey { key: c.key.clone() });
        }
        if c.label.trim().is_empty() {
            return Err(LadderError::EmptyLabel { key: c.key.clone() });
        }
        if choices[..index].iter().any(|d| d.key == c.key) {
            return Err(LadderError::DuplicateKey { key: c.key.clone() });
        }
    }
    Ok(())
}

fn check_id(c: &Choice, len: usize, limit: usize) -> Result<(), FallReason> {
    if len > limit {
        return Err(FallReason::IdTooLong {
            key: c.key.clone(),
            len,
            limit,
        });
    }
    Ok(())
}

/// The label if it fits, else a non-blank `short` that fits; never a cut label.
fn pick_title(c: &Choice, limit: usize) -> Result<&str, FallReason> {
    let chars = c.label.chars().count();
    if chars <= limit {
        return Ok(&c.label);
    }
    match non_blank(c.short.as_deref().unwrap_or_default()) {
        Some(short) if short.chars().count() <= limit => Ok(short),
        _ => Err(FallReason::TitleTooLong {
            key: c.key.clone(),
            chars,
            limit,
        }),
    }
}

fn description(c: &Choice) -> Option<&str> {
    c.description.as_deref().and_then(non_blank)
}

fn non_blank(s: &str) -> Option<&str> {
    (!s.trim().is_empty()).then_some(s)
}

/// Paging of text and keyboard rungs: one page up to 10, else pages of 8.
fn text_pages(n: usize) -> Vec<Range<usize>> {
    if n <= ONE_PAGE_MAX {
        one_page(n)
    } else {
        (0..n)
            .step_by(PAGE_SIZE)
            .map(|s| s..(s + PAGE_SIZE).min(n))
            .collect()
    }
}

/// All `n` choices on a single page.
fn one_page(n: usize) -> Vec<Range<usize>> {
    std::iter::once(0..n).collect()
}

/// One USSD screen: prompt, "n. title" lines numbered from 1, then "98. More" and "0. Back".
fn ussd_screen<'t>(
    prompt: Option<&str>,
    titles: impl IntoIterator<Item = &'t str>,
    more: Option<&str>,
    back: Option<&str>,
) -> String {
    let mut lines: Vec<String> = Vec::new();
    lines.extend(prompt.map(str::to_owned));
    lines.extend((1u32..).zip(titles).map(|(n, t)| format!("{n}. {t}")));
    lines.extend(more.map(|m| format!("{USSD_MORE}. {m}")));
    lines.extend(back.map(|b| format!("{USSD_BACK}. {b}")));
    lines.join("\n")
}
