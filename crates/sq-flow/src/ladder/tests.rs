//! Black-box tests of the ladder through its public surface: exact screens per channel and
//! rung, then properties (USSD pages fit and cover, numbers round-trip, parsing never panics).

use std::sync::LazyLock;

use proptest::prelude::*;
use sq_domain::Channel;

use super::*;
use crate::sms::SmsEncoding;

const PROMPT: &str = "Welcome to City Clinic. Which service?";

static DEFAULT: LazyLock<LadderOptions> = LazyLock::new(LadderOptions::default);

fn opts() -> &'static LadderOptions {
    &DEFAULT
}

fn three() -> Vec<Choice> {
    vec![
        Choice::new("deposits", "Deposits"),
        Choice::new("loans", "Loans"),
        Choice::new("cards", "Cards"),
    ]
}

fn numbered(n: usize) -> Vec<Choice> {
    (1..=n)
        .map(|i| Choice::new(format!("k{i}"), format!("Service {i}")))
        .collect()
}

fn text(s: &str) -> Reply {
    Reply::Text(s.to_owned())
}

fn chosen(key: &str) -> ReplyMatch {
    ReplyMatch::Chosen(key.to_owned())
}

fn page(channel: Channel, prompt: &str, choices: &[Choice], p: usize) -> RenderedPage {
    render(channel, prompt, choices, p, opts()).expect("renders")
}

fn parse(
    channel: Channel,
    prompt: &str,
    choices: &[Choice],
    p: usize,
    reply: &Reply,
) -> ReplyMatch {
    parse_reply(channel, prompt, choices, p, opts(), reply)
}

fn buttons(pairs: &[(&str, &str)]) -> Vec<Button> {
    pairs
        .iter()
        .map(|(id, title)| Button {
            id: (*id).into(),
            title: (*title).into(),
        })
        .collect()
}

// ---------------------------------------------------------------- WhatsApp

#[test]
fn whatsapp_up_to_three_choices_are_reply_buttons() {
    let p = page(Channel::Whatsapp, PROMPT, &three(), 0);
    assert_eq!(p.rung, Rung::WhatsAppButtons);
    assert_eq!(
        p.view,
        Rendered::WhatsAppButtons {
            body: PROMPT.into(),
            buttons: buttons(&[
                ("deposits", "Deposits"),
                ("loans", "Loans"),
                ("cards", "Cards")
            ]),
        }
    );
    assert!(p.numbers.is_empty());
    assert_eq!((p.page_count, p.has_next, p.has_prev), (1, false, false));
}

#[test]
fn whatsapp_button_title_of_21_chars_without_short_falls_to_list() {
    let label = "Foreign exchange desk"; // 21 characters
    assert_eq!(label.chars().count(), 21);
    let choices = vec![Choice::new("fx", label), Choice::new("loans", "Loans")];
    let ladder = Ladder::new(Channel::Whatsapp, PROMPT, &choices, opts()).unwrap();
    assert_eq!(ladder.rung(), Rung::WhatsAppList);
    assert_eq!(
        ladder.fallbacks(),
        &[Fallback {
            from: Rung::WhatsAppButtons,
            reason: FallReason::TitleTooLong {
                key: "fx".into(),
                chars: 21,
                limit: 20
            },
        }]
    );
    assert_eq!(
        ladder.render(0).unwrap().view,
        Rendered::WhatsAppList {
            body: PROMPT.into(),
            button: "Choose".into(),
            rows: vec![
                ListRow {
                    id: "fx".into(),
                    title: label.into(),
                    description: None
                },
                ListRow {
                    id: "loans".into(),
                    title: "Loans".into(),
                    description: None
                },
            ],
        }
    );
}

#[test]
fn whatsapp_button_title_of_21_chars_with_short_stays_buttons() {
    let choices = vec![
        Choice::new("fx", "Foreign exchange desk").with_short("Forex"),
        Choice::new("loans", "Loans"),
    ];
    let p = page(Channel::Whatsapp, PROMPT, &choices, 0);
    assert_eq!(
        p.view,
        Rendered::WhatsAppButtons {
            body: PROMPT.into(),
            buttons: buttons(&[("fx", "Forex"), ("loans", "Loans")]),
        }
    );
    // The full label, the short label and the key all still select it.
    for reply in ["Foreign exchange desk", "forex", "FX"] {
        assert_eq!(
            parse(Channel::Whatsapp, PROMPT, &choices, 0, &text(reply)),
            chosen("fx")
        );
    }
    assert_eq!(
        parse(
            Channel::Whatsapp,
            PROMPT,
            &choices,
            0,
            &Reply::ButtonId("fx".into())
        ),
        chosen("fx")
    );
}

#[test]
fn whatsapp_four_to_ten_choices_are_a_list_with_descriptions() {
    let mut choices = numbered(5);
    choices[1].description = Some("Open until 4 pm".into());
    let p = page(Channel::Whatsapp, PROMPT, &choices, 0);
    let Rendered::WhatsAppList { body, button, rows } = p.view else {
        panic!("expected a list, got {:?}", p.view);
    };
    assert_eq!(
        (body.as_str(), button.as_str(), rows.len()),
        (PROMPT, "Choose", 5)
    );
    assert_eq!(
        rows[1],
        ListRow {
            id: "k2".into(),
            title: "Service 2".into(),
            description: Some("Open until 4 pm".into()),
        }
    );
}

#[test]
fn whatsapp_description_moves_buttons_to_a_list() {
    let mut choices = three();
    choices[0].description = Some("Cash and cheques".into());
    let ladder = Ladder::new(Channel::Whatsapp, PROMPT, &choices, opts()).unwrap();
    assert_eq!(ladder.rung(), Rung::WhatsAppList);
    assert_eq!(
        ladder.fallbacks()[0].reason,
        FallReason::HasDescription {
            key: "deposits".into()
        }
    );
}

#[test]
fn whatsapp_row_title_over_24_falls_to_numbered_text_unless_short_fits() {
    let long = "Business account opening"; // 24 fits
    let longer = "Business accounts opening"; // 25 does not
    let mut choices = numbered(4);
    choices[0].label = long.into();
    assert_eq!(
        Ladder::new(Channel::Whatsapp, PROMPT, &choices, opts())
            .unwrap()
            .rung(),
        Rung::WhatsAppList
    );
    choices[0].label = longer.into();
    let ladder = Ladder::new(Channel::Whatsapp, PROMPT, &choices, opts()).unwrap();
    assert_eq!(ladder.rung(), Rung::WhatsAppText);
    assert_eq!(
        ladder.render(0).unwrap().view,
        Rendered::WhatsAppText {
            body: format!("{PROMPT}\n1. {longer}\n2. Service 2\n3. Service 3\n4. Service 4"),
        }
    );
    choices[0].short = Some("Business account".into());
    let p = page(Channel::Whatsapp, PROMPT, &choices, 0);
    assert_eq!(p.rung, Rung::WhatsAppList);
}

#[test]
fn whatsapp_eleven_choices_are_paged_numbered_text() {
    let choices = numbered(11);
    let p0 = page(Channel::Whatsapp, PROMPT, &choices, 0);
    assert_eq!(p0.rung, Rung::WhatsAppText);
    let lines: Vec<String> = (1..=8).map(|i| format!("{i}. Service {i}")).collect();
    assert_eq!(
        p0.view,
        Rendered::WhatsAppText {
            body: format!("{PROMPT}\n{}\nReply 9 for more", lines.join("\n")),
        }
    );
    assert_eq!((p0.page_count, p0.has_next, p0.has_prev), (2, true, false));
    let p1 = page(Channel::Whatsapp, PROMPT, &choices, 1);
    assert_eq!(
        p1.view,
        Rendered::WhatsAppText {
            body: format!(
                "{PROMPT}\n1. Service 9\n2. Service 10\n3. Service 11\nReply 0 to go back"
            ),
        }
    );
    assert_eq!(
        p1.numbers,
        vec![
            Numbered {
                number: 1,
                key: "k9".into()
            },
            Numbered {
                number: 2,
                key: "k10".into()
            },
            Numbered {
                number: 3,
                key: "k11".into()
            },
        ]
    );
    assert_eq!(
        parse(Channel::Whatsapp, PROMPT, &choices, 0, &text("9")),
        ReplyMatch::NextPage
    );
    assert_eq!(
        parse(Channel::Whatsapp, PROMPT, &choices, 1, &text("2")),
        chosen("k10")
    );
    assert_eq!(
        parse(Channel::Whatsapp, PROMPT, &choices, 1, &text("0")),
        ReplyMatch::PrevPage
    );
    assert_eq!(
        parse(Channel::Whatsapp, PROMPT, &choices, 1, &text("4")),
        ReplyMatch::NoMatch
    );
}

#[test]
fn whatsapp_empty_prompt_falls_to_numbered_text() {
    let choices = three();
    let ladder = Ladder::new(Channel::Whatsapp, "", &choices, opts()).unwrap();
    assert_eq!(ladder.rung(), Rung::WhatsAppText);
    assert_eq!(
        ladder.render(0).unwrap().view,
        Rendered::WhatsAppText {
            body: "1. Deposits\n2. Loans\n3. Cards".into()
        }
    );
}

#[test]
fn whatsapp_numbers_only_match_where_numbers_are_shown() {
    // Buttons show no numbers, so "1" is not a choice there.
    assert_eq!(
        parse(Channel::Whatsapp, PROMPT, &three(), 0, &text("1")),
        ReplyMatch::NoMatch
    );
    assert_eq!(
        parse(Channel::Whatsapp, PROMPT, &three(), 0, &text("loans")),
        chosen("loans")
    );
}

// ---------------------------------------------------------------- Telegram

#[test]
fn telegram_keyboard_uses_keys_as_callback_data() {
    let p = page(Channel::Telegram, PROMPT, &three(), 0);
    let row = |t: &str, k: &str| {
        vec![InlineButton {
            text: t.into(),
            callback_data: k.into(),
        }]
    };
    assert_eq!(
        p.view,
        Rendered::TelegramMessage {
            text: PROMPT.into(),
            inline_keyboard: vec![
                row("Deposits", "deposits"),
                row("Loans", "loans"),
                row("Cards", "cards")
            ],
        }
    );
    let reply = Reply::ButtonId("cards".into());
    assert_eq!(
        parse(Channel::Telegram, PROMPT, &three(), 0, &reply),
        chosen("cards")
    );
}

#[test]
fn telegram_more_than_ten_is_a_paged_keyboard() {
    let choices = numbered(12);
    let p0 = page(Channel::Telegram, PROMPT, &choices, 0);
    let Rendered::TelegramMessage {
        inline_keyboard, ..
    } = &p0.view
    else {
        panic!("expected a Telegram message");
    };
    assert_eq!(inline_keyboard.len(), 9);
    assert_eq!(
        inline_keyboard[8],
        vec![InlineButton {
            text: "More".into(),
            callback_data: NAV_MORE_ID.into()
        }]
    );
    let p1 = page(Channel::Telegram, PROMPT, &choices, 1);
    let Rendered::TelegramMessage {
        inline_keyboard, ..
    } = &p1.view
    else {
        panic!("expected a Telegram message");
    };
    assert_eq!(inline_keyboard.len(), 5);
    assert_eq!(inline_keyboard[4][0].callback_data, NAV_BACK_ID);
    let id = |s: &str| Reply::ButtonId(s.into());
    assert_eq!(
        parse(Channel::Telegram, PROMPT, &choices, 0, &id(NAV_MORE_ID)),
        ReplyMatch::NextPage
    );
    assert_eq!(
        parse(Channel::Telegram, PROMPT, &choices, 0, &id(NAV_BACK_ID)),
        ReplyMatch::NoMatch
    );
    assert_eq!(
        parse(Channel::Telegram, PROMPT, &choices, 1, &id(NAV_BACK_ID)),
        ReplyMatch::PrevPage
    );
    // A key is stable: a button from the first page still works after paging.
    assert_eq!(
        parse(Channel::Telegram, PROMPT, &choices, 1, &id("k2")),
        chosen("k2")
    );
    assert_eq!(
        parse(Channel::Telegram, PROMPT, &choices, 0, &text("more")),
        ReplyMatch::NextPage
    );
}

#[test]
fn telegram_key_over_64_bytes_falls_to_numbered_text() {
    let key = "é".repeat(33); // 66 bytes, 33 characters
    let choices = vec![
        Choice::new(key.clone(), "Deposits"),
        Choice::new("loans", "Loans"),
    ];
    let ladder = Ladder::new(Channel::Telegram, PROMPT, &choices, opts()).unwrap();
    assert_eq!(ladder.rung(), Rung::TelegramText);
    assert_eq!(
        ladder.fallbacks()[0].reason,
        FallReason::IdTooLong {
            key: key.clone(),
            len: 66,
            limit: 64
        }
    );
    assert_eq!(
        ladder.render(0).unwrap().view,
        Rendered::TelegramMessage {
            text: format!("{PROMPT}\n1. Deposits\n2. Loans"),
            inline_keyboard: vec![],
        }
    );
    assert_eq!(ladder.parse_reply(0, &text("1")), chosen(&key));
}

// ---------------------------------------------------------------- SMS

#[test]
fn sms_is_numbered_text_with_segment_info() {
    let p = page(Channel::Sms, PROMPT, &three(), 0);
    let expected = format!("{PROMPT}\n1. Deposits\n2. Loans\n3. Cards");
    let Rendered::SmsText { text: body, info } = &p.view else {
        panic!("expected SMS text");
    };
    assert_eq!(body, &expected);
    assert_eq!(info.encoding, SmsEncoding::Gsm7);
    assert_eq!(
        (info.units, info.segments),
        (expected.chars().count() as u32, 1)
    );
    assert_eq!(
        p.numbers
            .iter()
            .map(|n| (n.number, n.key.as_str()))
            .collect::<Vec<_>>(),
        vec![(1, "deposits"), (2, "loans"), (3, "cards")]
    );
    assert_eq!(
        parse(Channel::Sms, PROMPT, &three(), 0, &text(" 2. ")),
        chosen("loans")
    );
}

#[test]
fn sms_arabic_text_is_ucs2() {
    let choices = vec![
        Choice::new("deposits", "إيداع"),
        Choice::new("loans", "قروض"),
    ];
    let p = page(Channel::Sms, "اختر الخدمة", &choices, 0);
    let Rendered::SmsText { info, .. } = p.view else {
        panic!("expected SMS text");
    };
    assert_eq!((info.encoding, info.segments), (SmsEncoding::Ucs2, 1));
}

#[test]
fn sms_ten_choices_stay_on_one_page_and_nine_is_a_choice() {
    let choices = numbered(10);
    let p = page(Channel::Sms, PROMPT, &choices, 0);
    assert_eq!((p.page_count, p.numbers.len()), (1, 10));
    assert_eq!(
        parse(Channel::Sms, PROMPT, &choices, 0, &text("9")),
        chosen("k9")
    );
    assert_eq!(
        parse(Channel::Sms, PROMPT, &choices, 0, &text("10")),
        chosen("k10")
    );
    assert_eq!(
        parse(Channel::Sms, PROMPT, &choices, 0, &text("0")),
        ReplyMatch::NoMatch
    );
}

#[test]
fn sms_more_than_ten_pages_by_eight_with_hints() {
    let choices = numbered(20);
    let texts: Vec<String> = (0..3)
        .map(|p| match page(Channel::Sms, "Pick", &choices, p).view {
            Rendered::SmsText { text, .. } => text,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        texts[1],
        "Pick\n1. Service 9\n2. Service 10\n3. Service 11\n4. Service 12\n5. Service 13\n\
         6. Service 14\n7. Service 15\n8. Service 16\nReply 9 for more\nReply 0 to go back"
    );
    assert_eq!(
        texts[2],
        "Pick\n1. Service 17\n2. Service 18\n3. Service 19\n4. Service 20\nReply 0 to go back"
    );
    assert_eq!(
        parse(Channel::Sms, "Pick", &choices, 1, &text("9")),
        ReplyMatch::NextPage
    );
    assert_eq!(
        parse(Channel::Sms, "Pick", &choices, 1, &text("0")),
        ReplyMatch::PrevPage
    );
    assert_eq!(
        parse(Channel::Sms, "Pick", &choices, 2, &text("9")),
        ReplyMatch::NoMatch
    );
    assert_eq!(
        parse(Channel::Sms, "Pick", &choices, 2, &text("3")),
        chosen("k19")
    );
    // Labels match from any page.
    assert_eq!(
        parse(Channel::Sms, "Pick", &choices, 0, &text("service 19")),
        chosen("k19")
    );
}

// ---------------------------------------------------------------- USSD

#[test]
fn ussd_fits_one_screen_when_it_can() {
    let p = page(Channel::Ussd, PROMPT, &three(), 0);
    assert_eq!(
        p.view,
        Rendered::UssdScreen {
            text: format!("{PROMPT}\n1. Deposits\n2. Loans\n3. Cards"),
            more: false
        }
    );
    assert_eq!(
        parse(Channel::Ussd, PROMPT, &three(), 0, &text("3")),
        chosen("cards")
    );
    assert_eq!(
        parse(Channel::Ussd, PROMPT, &three(), 0, &text("98")),
        ReplyMatch::NoMatch
    );
}

#[test]
fn ussd_paginates_to_the_budget_with_more_and_back() {
    let options = LadderOptions {
        ussd_page_budget: 60,
        ..opts().clone()
    };
    let choices = numbered(9);
    let ladder = Ladder::new(Channel::Ussd, "Choose a service", &choices, &options).unwrap();
    let screens: Vec<String> = ladder
        .render_all()
        .into_iter()
        .map(|p| match p.view {
            Rendered::UssdScreen { text, .. } => text,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        screens,
        vec![
            "Choose a service\n1. Service 1\n2. Service 2\n98. More",
            "1. Service 3\n2. Service 4\n3. Service 5\n98. More\n0. Back",
            "1. Service 6\n2. Service 7\n3. Service 8\n4. Service 9\n0. Back",
        ]
    );
    assert!(screens.iter().all(|s| s.chars().count() <= 60));
    assert_eq!(ladder.parse_reply(0, &text("98")), ReplyMatch::NextPage);
    assert_eq!(ladder.parse_reply(0, &text("0")), ReplyMatch::NoMatch);
    assert_eq!(ladder.parse_reply(1, &text("2")), chosen("k4"));
    assert_eq!(ladder.parse_reply(1, &text("0")), ReplyMatch::PrevPage);
    assert_eq!(ladder.parse_reply(2, &text("98")), ReplyMatch::NoMatch);
    assert_eq!(
        ladder.render(1).unwrap().view,
        Rendered::UssdScreen {
            text: screens[1].clone(),
            more: true
        }
    );
}

#[test]
fn ussd_uses_short_only_when_a_line_cannot_fit_alone() {
    let options = LadderOptions {
        ussd_page_budget: 60,
        ..opts().clone()
    };
    let long = "Savings, current and business account opening";
    let choices = vec![
        Choice::new("open", long).with_short("Open an account"),
        Choice::new("k2", "Service 2"),
        Choice::new("k3", "Service 3"),
    ];
    let ladder = Ladder::new(Channel::Ussd, "Choose", &choices, &options).unwrap();
    let Rendered::UssdScreen { text: first, .. } = ladder.render(0).unwrap().view else {
        panic!("expected a USSD screen");
    };
    assert!(first.contains("1. Open an account"), "{first}");
    assert!(!first.contains(long));
    // The full label still matches the choice.
    assert_eq!(ladder.parse_reply(0, &text(long)), chosen("open"));

    let no_short = vec![Choice::new("open", long), Choice::new("k2", "Service 2")];
    assert_eq!(
        Ladder::new(Channel::Ussd, "Choose", &no_short, &options).unwrap_err(),
        LadderError::UssdChoiceTooLong {
            key: "open".into(),
            chars: 3 + long.chars().count() + "\n98. More\n0. Back".len(),
            budget: 60
        }
    );
}

#[test]
fn ussd_prompt_that_leaves_no_room_is_an_error() {
    let options = LadderOptions {
        ussd_page_budget: 60,
        ..opts().clone()
    };
    let prompt = "x".repeat(50);
    let err = Ladder::new(Channel::Ussd, &prompt, &numbered(9), &options).unwrap_err();
    assert_eq!(
        err,
        LadderError::UssdPromptTooLong {
            chars: 50,
            budget: 60
        }
    );
    assert_eq!(err.code(), "ussd_prompt_too_long");
}

#[test]
fn ussd_non_gsm_screens_use_the_ucs2_budget() {
    // 10 Arabic choices: together far over 80 characters, so pages are held to 80.
    let choices: Vec<Choice> = (1..=10)
        .map(|i| Choice::new(format!("k{i}"), format!("خدمة رقم {i}")))
        .collect();
    let ladder = Ladder::new(Channel::Ussd, "اختر الخدمة", &choices, opts()).unwrap();
    assert!(ladder.page_count() > 1);
    for p in ladder.render_all() {
        let Rendered::UssdScreen { text, .. } = p.view else {
            panic!("expected a USSD screen");
        };
        assert!(text.chars().count() <= 80, "{text}");
    }
}

// ---------------------------------------------------------------- web

#[test]
fn web_and_kiosk_show_buttons_then_a_list() {
    let p = page(Channel::Kiosk, PROMPT, &three(), 0);
    assert_eq!(
        p.view,
        Rendered::WebButtons {
            prompt: PROMPT.into(),
            options: three()
                .into_iter()
                .map(|c| WebOption {
                    key: c.key,
                    label: c.label,
                    description: None
                })
                .collect(),
        }
    );
    let p = page(Channel::Web, PROMPT, &numbered(11), 0);
    assert!(matches!(&p.view, Rendered::WebList { options, .. } if options.len() == 11));
    assert_eq!(p.page_count, 1);
}

// ---------------------------------------------------------------- matching

#[test]
fn labels_and_synonyms_match_case_and_accent_insensitively() {
    let choices = vec![
        Choice::new("deposits", "Dépôts").with_synonyms(["Versement", "Épargne"]),
        Choice::new("loans", "Prêts"),
    ];
    for (reply, key) in [
        ("depots", "deposits"),
        ("  DÉPÔTS ", "deposits"),
        ("versement", "deposits"),
        ("EPARGNE", "deposits"),
        ("prets", "loans"),
        ("Prêts!", "loans"),
    ] {
        for channel in [
            Channel::Sms,
            Channel::Ussd,
            Channel::Whatsapp,
            Channel::Telegram,
        ] {
            assert_eq!(
                parse(channel, PROMPT, &choices, 0, &text(reply)),
                chosen(key),
                "{reply} on {channel}"
            );
        }
    }
}

#[test]
fn arabic_labels_match_without_tashkeel_or_tatweel() {
    let choices = vec![Choice::new("yes", "نَعَم"), Choice::new("no", "لا")];
    assert_eq!(
        parse(Channel::Sms, "", &choices, 0, &text("نعم")),
        chosen("yes")
    );
    assert_eq!(
        parse(Channel::Sms, "", &choices, 0, &text("نـــعم")),
        chosen("yes")
    );
}

#[test]
fn arabic_indic_and_persian_digits_select_numbers() {
    let choices = numbered(12);
    assert_eq!(
        parse(Channel::Sms, PROMPT, &choices, 0, &text("٣")),
        chosen("k3")
    );
    assert_eq!(
        parse(Channel::Sms, PROMPT, &choices, 0, &text("۵")),
        chosen("k5")
    );
    assert_eq!(
        parse(Channel::Sms, PROMPT, &choices, 0, &text("٩")),
        ReplyMatch::NextPage
    );
    assert_eq!(
        parse(Channel::Ussd, PROMPT, &three(), 0, &text("٣")),
        chosen("cards")
    );
    assert_eq!(
        parse(Channel::Sms, PROMPT, &numbered(10), 0, &text("١٠")),
        chosen("k10")
    );
}

#[test]
fn never_matches_prefixes_or_truncated_text() {
    let choices = vec![
        Choice::new("fx", "Foreign exchange desk"),
        Choice::new("loans", "Loans"),
    ];
    for reply in [
        "Foreign exchange",
        "Foreign exchange d",
        "Loan",
        "Foreign exchange d…",
    ] {
        assert_eq!(
            parse(Channel::Whatsapp, PROMPT, &choices, 0, &text(reply)),
            ReplyMatch::NoMatch,
            "{reply}"
        );
    }
}

#[test]
fn ambiguous_text_is_no_match() {
    let choices = vec![
        Choice::new("a", "Branch A").with_synonyms(["town"]),
        Choice::new("b", "Branch B").with_synonyms(["Town"]),
    ];
    assert_eq!(
        parse(Channel::Sms, PROMPT, &choices, 0, &text("town")),
        ReplyMatch::NoMatch
    );
}

#[test]
fn numbers_take_precedence_then_labels_that_look_like_numbers() {
    // NPS-style labels: "1" is the first displayed number; "10" is not displayed on page 0
    // (the page holds 8) so it falls back to the label "10".
    let choices: Vec<Choice> = (0..=10)
        .map(|i| Choice::new(format!("n{i}"), i.to_string()))
        .collect();
    assert_eq!(
        parse(Channel::Sms, PROMPT, &choices, 0, &text("1")),
        chosen("n0")
    );
    assert_eq!(
        parse(Channel::Sms, PROMPT, &choices, 0, &text("10")),
        chosen("n10")
    );
}

#[test]
fn button_ids_match_keys_exactly() {
    let id = |s: &str| Reply::ButtonId(s.into());
    assert_eq!(
        parse(Channel::Whatsapp, PROMPT, &three(), 0, &id("loans")),
        chosen("loans")
    );
    assert_eq!(
        parse(Channel::Whatsapp, PROMPT, &three(), 0, &id("Loans")),
        ReplyMatch::NoMatch
    );
    assert_eq!(
        parse(Channel::Whatsapp, PROMPT, &three(), 0, &id(NAV_MORE_ID)),
        ReplyMatch::NoMatch
    );
}

#[test]
fn invalid_steps_are_errors_not_guesses() {
    let o = opts();
    let err = |choices: &[Choice]| Ladder::new(Channel::Sms, PROMPT, choices, o).unwrap_err();
    assert_eq!(err(&[]), LadderError::NoChoices);
    assert_eq!(err(&[Choice::new("", "X")]).code(), "empty_key");
    assert_eq!(
        err(&[Choice::new("a", "A"), Choice::new("a", "B")]).code(),
        "duplicate_key"
    );
    assert_eq!(err(&[Choice::new(NAV_MORE_ID, "A")]).code(), "reserved_key");
    assert_eq!(err(&[Choice::new("a", "  ")]).code(), "empty_label");
    assert_eq!(
        render(Channel::Sms, PROMPT, &three(), 1, o).unwrap_err(),
        LadderError::PageOutOfRange { page: 1, pages: 1 }
    );
    // A step that cannot be laid out still matches by key and label.
    assert_eq!(
        parse_reply(
            Channel::Ussd,
            &"x".repeat(500),
            &three(),
            0,
            o,
            &text("Cards")
        ),
        chosen("cards")
    );
}

#[test]
fn whatsapp_text_over_4096_is_an_error() {
    let choices = vec![Choice::new("a", "x".repeat(5000))];
    assert_eq!(
        Ladder::new(Channel::Whatsapp, PROMPT, &choices, opts())
            .unwrap_err()
            .code(),
        "message_too_long"
    );
}

// ---------------------------------------------------------------- properties

fn label_strategy() -> impl Strategy<Value = String> {
    // Latin, accented, GSM extension, Arabic and emoji characters: GSM-7 and UCS-2 pages.
    proptest::string::string_regex("[A-Za-zé€ç مرحب😀]{1,30}")
        .unwrap()
        .prop_filter("non-blank", |s| !s.trim().is_empty())
}

fn choices_strategy(max: usize) -> impl Strategy<Value = Vec<Choice>> {
    proptest::collection::vec(
        (label_strategy(), proptest::option::of(label_strategy())),
        1..max,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (label, short))| Choice {
                key: format!("key-{i}"),
                label,
                short,
                synonyms: vec![],
                description: None,
            })
            .collect()
    })
}

const ALL_CHANNELS: [Channel; 5] = [
    Channel::Whatsapp,
    Channel::Telegram,
    Channel::Sms,
    Channel::Ussd,
    Channel::Web,
];

proptest! {
    #[test]
    fn ussd_pages_fit_the_budget_and_cover_every_choice_once(
        choices in choices_strategy(40),
        prompt in "[A-Za-z ?]{0,15}",
        budget in 60usize..400,
    ) {
        let options = LadderOptions { ussd_page_budget: budget, ..LadderOptions::default() };
        let ladder = Ladder::new(Channel::Ussd, &prompt, &choices, &options).unwrap();
        let mut seen = Vec::new();
        for p in 0..ladder.page_count() {
            let page = ladder.render(p).unwrap();
            let Rendered::UssdScreen { text, more } = &page.view else {
                panic!("expected a USSD screen");
            };
            let chars = text.chars().count();
            prop_assert!(chars <= budget, "page {} has {} > {}: {:?}", p, chars, budget, text);
            if !crate::sms::is_gsm7(text) {
                prop_assert!(chars <= budget.min(80));
            }
            prop_assert_eq!(*more, p + 1 < ladder.page_count());
            prop_assert!(!page.numbers.is_empty());
            for n in &page.numbers {
                let c = choices.iter().find(|c| c.key == n.key).unwrap();
                let shown = text.lines().any(|l| {
                    l == format!("{}. {}", n.number, c.label)
                        || c.short.as_ref().is_some_and(|s| l == format!("{}. {}", n.number, s))
                });
                prop_assert!(shown, "{} not shown on page {}", n.key, p);
                let reply = Reply::Text(n.number.to_string());
                prop_assert_eq!(ladder.parse_reply(p, &reply), ReplyMatch::Chosen(n.key.clone()));
                seen.push(n.key.clone());
            }
        }
        let all: Vec<String> = choices.iter().map(|c| c.key.clone()).collect();
        prop_assert_eq!(seen, all);
    }

    #[test]
    fn every_channel_maps_what_it_shows_back_to_the_key(
        choices in choices_strategy(25),
        prompt in "[A-Za-z ?]{0,15}",
    ) {
        for channel in ALL_CHANNELS {
            let Ok(ladder) = Ladder::new(channel, &prompt, &choices, opts()) else {
                continue;
            };
            let mut seen = 0;
            for p in 0..ladder.page_count() {
                let page = ladder.render(p).unwrap();
                for n in &page.numbers {
                    let reply = Reply::Text(n.number.to_string());
                    prop_assert_eq!(ladder.parse_reply(p, &reply), ReplyMatch::Chosen(n.key.clone()));
                }
                let ids: Vec<String> = if page.rung.is_numbered() {
                    page.numbers.iter().map(|n| n.key.clone()).collect()
                } else {
                    match &page.view {
                    Rendered::WhatsAppButtons { buttons, .. } => buttons.iter().map(|b| b.id.clone()).collect(),
                    Rendered::WhatsAppList { rows, .. } => rows.iter().map(|r| r.id.clone()).collect(),
                    Rendered::TelegramMessage { inline_keyboard, .. } => inline_keyboard
                        .iter()
                        .flatten()
                        .map(|b| b.callback_data.clone())
                        .filter(|d| d != NAV_MORE_ID && d != NAV_BACK_ID)
                        .collect(),
                    Rendered::WebButtons { options, .. } | Rendered::WebList { options, .. } => {
                        options.iter().map(|o| o.key.clone()).collect()
                    }
                    other => panic!("numbered view on an unnumbered rung: {other:?}"),
                    }
                };
                for id in &ids {
                    prop_assert_eq!(ladder.parse_reply(p, &Reply::ButtonId(id.clone())), ReplyMatch::Chosen(id.clone()));
                }
                seen += ids.len();
            }
            prop_assert_eq!(seen, choices.len(), "{} dropped choices", channel);
        }
    }

    #[test]
    fn parse_reply_never_panics(
        input in "\\PC{0,60}|[0-9٠-٩۰-۹]{0,12}",
        button in proptest::bool::ANY,
        page in 0usize..5,
        choices in choices_strategy(15),
    ) {
        let reply = if button { Reply::ButtonId(input) } else { Reply::Text(input) };
        for channel in ALL_CHANNELS {
            let _ = parse_reply(channel, "Pick", &choices, page, opts(), &reply);
        }
    }
}
