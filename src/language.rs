//! The language of what seibi writes for people: Japanese for the city's documents, English for
//! engineers and vendors. It sits below every module that writes for people (plan, schedule,
//! documents) so that each can take the language without depending on another.

/// Language of headings, labels and sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// English.
    #[default]
    En,
    /// Japanese.
    Ja,
}

impl Language {
    /// `ja` in Japanese, `en` in English.
    pub fn pick<T>(self, ja: T, en: T) -> T {
        match self {
            Language::Ja => ja,
            Language::En => en,
        }
    }
}
