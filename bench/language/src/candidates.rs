//! The detectors compared, each behind one `detect(text) -> Option<ISO 639-1>` so that they
//! are measured the same way. Codes outside the labelled set come back as "other" (always wrong).

use lingua::{Language, LanguageDetectorBuilder};

/// Every candidate, in table order.
#[derive(Debug, Clone, Copy)]
pub enum Candidate {
    Intake,
    IntakeOnly12,
    WhatlangReliable,
    Whatlang,
    Whatlang12,
    Whichlang,
    LinguaAllHigh,
    LinguaAllLow,
    Lingua12High,
    Lingua12Low,
    Langdetect,
}

/// The 12 labelled languages as lingua names them.
const LINGUA_12: [Language; 12] = [
    Language::English,
    Language::German,
    Language::Swedish,
    Language::French,
    Language::Spanish,
    Language::Dutch,
    Language::Italian,
    Language::Portuguese,
    Language::Danish,
    Language::Bokmal,
    Language::Finnish,
    Language::Polish,
];

impl Candidate {
    pub const ALL: [Candidate; 11] = [
        Candidate::Intake,
        Candidate::IntakeOnly12,
        Candidate::WhatlangReliable,
        Candidate::Whatlang,
        Candidate::Whatlang12,
        Candidate::Whichlang,
        Candidate::LinguaAllHigh,
        Candidate::LinguaAllLow,
        Candidate::Lingua12High,
        Candidate::Lingua12Low,
        Candidate::Langdetect,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Candidate::Intake => "intake (normalizer, default)",
            Candidate::IntakeOnly12 => "intake (normalizer, allowlist of the 12)",
            Candidate::WhatlangReliable => "whatlang 0.16, reliable only (Intake before)",
            Candidate::Whatlang => "whatlang 0.16, any answer",
            Candidate::Whatlang12 => "whatlang 0.16, allowlist of the 12",
            Candidate::Whichlang => "whichlang 0.1",
            Candidate::LinguaAllHigh => "lingua 1.8, all, high accuracy",
            Candidate::LinguaAllLow => "lingua 1.8, all, low accuracy",
            Candidate::Lingua12High => "lingua 1.8, the 12, high accuracy",
            Candidate::Lingua12Low => "lingua 1.8, the 12, low accuracy",
            Candidate::Langdetect => "langdetect-rs 0.2",
        }
    }

    /// How many languages the candidate chooses from.
    pub fn languages(self) -> usize {
        match self {
            Candidate::Intake => intake_normalizer::language::LanguageDetector::all().len(),
            Candidate::IntakeOnly12 | Candidate::Whatlang12 => 12,
            Candidate::Lingua12High | Candidate::Lingua12Low => 12,
            Candidate::WhatlangReliable | Candidate::Whatlang => whatlang::Lang::all().len(),
            Candidate::Whichlang => 16,
            Candidate::LinguaAllHigh | Candidate::LinguaAllLow => Language::all().len(),
            Candidate::Langdetect => 55,
        }
    }

    pub fn build(self) -> Box<dyn Detect> {
        match self {
            Candidate::Intake => Box::new(Intake(
                intake_normalizer::language::LanguageDetector::all().clone(),
            )),
            Candidate::IntakeOnly12 => Box::new(Intake(
                intake_normalizer::language::LanguageDetector::only(&crate::LANGUAGES)
                    .unwrap_or_else(|e| panic!("{e}")),
            )),
            Candidate::WhatlangReliable => Box::new(Whatlang {
                detector: whatlang::Detector::new(),
                reliable_only: true,
            }),
            Candidate::Whatlang => Box::new(Whatlang {
                detector: whatlang::Detector::new(),
                reliable_only: false,
            }),
            Candidate::Whatlang12 => Box::new(Whatlang {
                detector: whatlang::Detector::with_allowlist(
                    whatlang::Lang::all()
                        .iter()
                        .copied()
                        .filter(|l| whatlang_code(*l) != "other")
                        .collect(),
                ),
                reliable_only: false,
            }),
            Candidate::Whichlang => Box::new(Whichlang),
            Candidate::LinguaAllHigh => Box::new(Lingua(
                LanguageDetectorBuilder::from_all_languages()
                    .with_preloaded_language_models()
                    .build(),
            )),
            Candidate::LinguaAllLow => Box::new(Lingua(
                LanguageDetectorBuilder::from_all_languages()
                    .with_low_accuracy_mode()
                    .with_preloaded_language_models()
                    .build(),
            )),
            Candidate::Lingua12High => Box::new(Lingua(
                LanguageDetectorBuilder::from_languages(&LINGUA_12)
                    .with_preloaded_language_models()
                    .build(),
            )),
            Candidate::Lingua12Low => Box::new(Lingua(
                LanguageDetectorBuilder::from_languages(&LINGUA_12)
                    .with_low_accuracy_mode()
                    .with_preloaded_language_models()
                    .build(),
            )),
            Candidate::Langdetect => {
                let mut factory =
                    langdetect_rs::detector_factory::DetectorFactory::default().build();
                factory.set_seed(4);
                Box::new(Langdetect(factory))
            }
        }
    }
}

pub trait Detect {
    fn detect(&self, text: &str) -> Option<&'static str>;
}

/// A code of the labelled set, or "other".
fn known(code: &str) -> &'static str {
    crate::LANGUAGES
        .into_iter()
        .find(|c| c.eq_ignore_ascii_case(code))
        .unwrap_or("other")
}

struct Intake(intake_normalizer::language::LanguageDetector);

impl Detect for Intake {
    fn detect(&self, text: &str) -> Option<&'static str> {
        self.0.detect(text)
    }
}

struct Whatlang {
    detector: whatlang::Detector,
    reliable_only: bool,
}

fn whatlang_code(lang: whatlang::Lang) -> &'static str {
    use whatlang::Lang;
    match lang {
        Lang::Eng => "en",
        Lang::Deu => "de",
        Lang::Swe => "sv",
        Lang::Fra => "fr",
        Lang::Spa => "es",
        Lang::Nld => "nl",
        Lang::Ita => "it",
        Lang::Por => "pt",
        Lang::Dan => "da",
        Lang::Nob => "nb",
        Lang::Fin => "fi",
        Lang::Pol => "pl",
        _ => "other",
    }
}

impl Detect for Whatlang {
    fn detect(&self, text: &str) -> Option<&'static str> {
        let info = self.detector.detect(text)?;
        (!self.reliable_only || info.is_reliable()).then(|| whatlang_code(info.lang()))
    }
}

struct Whichlang;

impl Detect for Whichlang {
    fn detect(&self, text: &str) -> Option<&'static str> {
        use whichlang::Lang;
        Some(match whichlang::detect_language(text) {
            Lang::Eng => "en",
            Lang::Deu => "de",
            Lang::Swe => "sv",
            Lang::Fra => "fr",
            Lang::Spa => "es",
            Lang::Nld => "nl",
            Lang::Ita => "it",
            Lang::Por => "pt",
            _ => "other",
        })
    }
}

struct Lingua(lingua::LanguageDetector);

impl Detect for Lingua {
    fn detect(&self, text: &str) -> Option<&'static str> {
        let lang = self.0.detect_language_of(text)?;
        Some(known(&lang.iso_code_639_1().to_string()))
    }
}

struct Langdetect(langdetect_rs::detector_factory::DetectorFactory);

impl Detect for Langdetect {
    fn detect(&self, text: &str) -> Option<&'static str> {
        let code = self.0.detect(text, None).ok()?;
        Some(if code == "no" { "nb" } else { known(&code) })
    }
}
