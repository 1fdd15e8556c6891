//! Every Vietnamese letter, lower and upper case, with each of the six tones,
//! is in the bundled fonts and renders; letters that differ only by tone
//! render differently.

use ticket_printer::{has_glyph, normalize, render_text_line, Bitmap, Weight};

const BASES: [&str; 12] = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"];
/// No tone, huyền, sắc, hỏi, ngã, nặng as combining marks.
const TONES: [&str; 6] = ["", "\u{300}", "\u{301}", "\u{309}", "\u{303}", "\u{323}"];

fn letters(upper: bool) -> Vec<Vec<String>> {
    BASES
        .iter()
        .map(|base| {
            let base = if upper {
                base.to_uppercase()
            } else {
                base.to_string()
            };
            TONES
                .iter()
                .map(|tone| normalize(&format!("{base}{tone}")))
                .collect()
        })
        .collect()
}

fn render(letter: &str, weight: Weight) -> Bitmap {
    render_text_line(letter, weight, 24.0)
}

#[test]
fn every_toned_letter_is_one_precomposed_char_with_its_own_glyph() {
    for upper in [false, true] {
        for family in letters(upper) {
            for letter in family {
                let mut chars = letter.chars();
                let c = chars.next().expect("non-empty letter");
                assert!(
                    chars.next().is_none(),
                    "{letter:?} is not one char after NFC"
                );
                for weight in [Weight::Regular, Weight::Bold] {
                    assert!(
                        has_glyph(weight, c),
                        "{weight:?} font lacks {c} (U+{:04X})",
                        c as u32
                    );
                }
            }
        }
    }
    for c in ['đ', 'Đ'] {
        assert!(has_glyph(Weight::Regular, c) && has_glyph(Weight::Bold, c));
    }
}

#[test]
fn every_toned_letter_renders_ink() {
    for upper in [false, true] {
        for family in letters(upper) {
            for letter in family.iter().map(String::as_str).chain(["đ", "Đ"]) {
                for weight in [Weight::Regular, Weight::Bold] {
                    let bitmap = render(letter, weight);
                    assert!(
                        bitmap.count_black() > 10,
                        "{letter} ({weight:?}) renders almost nothing: {bitmap:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn letters_differing_only_by_tone_render_differently() {
    for upper in [false, true] {
        for family in letters(upper) {
            for weight in [Weight::Regular, Weight::Bold] {
                let images: Vec<Bitmap> = family.iter().map(|l| render(l, weight)).collect();
                for i in 0..images.len() {
                    for j in i + 1..images.len() {
                        assert_ne!(
                            images[i], images[j],
                            "{} and {} ({weight:?}) render the same",
                            family[i], family[j]
                        );
                    }
                }
            }
        }
    }
    assert_ne!(render("d", Weight::Regular), render("đ", Weight::Regular));
    assert_ne!(render("D", Weight::Regular), render("Đ", Weight::Regular));
}

#[test]
fn decomposed_input_renders_like_precomposed() {
    // NFD text, as some keyboards and databases produce it.
    let nfd = "Tie\u{302}\u{301}ng Vie\u{302}\u{323}t";
    assert_eq!(
        render_text_line(nfd, Weight::Regular, 24.0),
        render_text_line("Tiếng Việt", Weight::Regular, 24.0)
    );
}
