//! The character tables the normaliser folds with: invisible characters, confusable homoglyphs
//! and HTML named character references.

/// Characters removed before matching: zero-width and invisible format characters, bidi
/// controls, variation selectors, tag characters and the invisible Hangul fillers
/// (Unicode's `Default_Ignorable_Code_Point`, less unassigned code points outside these blocks).
///
/// ZWJ/ZWNJ matter for emoji sequences and some scripts' rendering, not for what a word *is*;
/// normalised text is only ever used for matching, so they go too.
pub(super) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'                   // soft hyphen
        | '\u{034F}'                 // combining grapheme joiner
        | '\u{061C}'                 // Arabic letter mark (bidi)
        | '\u{115F}' | '\u{1160}'    // Hangul choseong / jungseong fillers
        | '\u{17B4}' | '\u{17B5}'    // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}'    // Mongolian variation selectors and vowel separator
        | '\u{200B}'..='\u{200F}'    // ZWSP, ZWNJ, ZWJ, LRM, RLM
        | '\u{202A}'..='\u{202E}'    // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'    // word joiner, invisible operators, bidi isolates, deprecated
        | '\u{3164}'                 // Hangul filler
        | '\u{FE00}'..='\u{FE0F}'    // variation selectors
        | '\u{FEFF}'                 // zero-width no-break space / BOM
        | '\u{FFA0}'                 // half-width Hangul filler
        | '\u{1BCA0}'..='\u{1BCA3}'  // shorthand format controls
        | '\u{1D173}'..='\u{1D17A}'  // musical symbol format controls
        | '\u{E0000}'..='\u{E0FFF}' // tag characters and variation selectors supplement
    )
}

/// Confusable homoglyphs folded to the ASCII character they imitate, sorted by code point.
///
/// Written from Unicode's confusables data (UTS #39), limited to what attackers use to slip a
/// word past a filter: Greek, Cyrillic, Armenian and Cherokee letters that look like Latin ones,
/// a few Latin lookalikes, dashes and typographic quotes. Every entry is NFKC-stable (tested), as
/// the table is applied to NFKC output; characters NFKC already maps (full-width forms,
/// mathematical alphanumerics, fancy spaces, `‑`) need no entry.
///
/// Folding is unconditional, even inside a word written entirely in that script: the normalised
/// text is only used for matching, and a whole-word Cyrillic lookalike of `password` is exactly
/// the case to catch. Russian text folds to a Latin/Cyrillic mixture nobody reads.
pub(super) const CONFUSABLES: &[(char, u8)] = &[
    ('\u{131}', b'i'),   // LATIN SMALL LETTER DOTLESS I
    ('\u{1C0}', b'l'),   // LATIN LETTER DENTAL CLICK
    ('\u{237}', b'j'),   // LATIN SMALL LETTER DOTLESS J
    ('\u{251}', b'a'),   // LATIN SMALL LETTER ALPHA
    ('\u{261}', b'g'),   // LATIN SMALL LETTER SCRIPT G
    ('\u{2B9}', b'\''),  // MODIFIER LETTER PRIME
    ('\u{2BC}', b'\''),  // MODIFIER LETTER APOSTROPHE
    ('\u{2C8}', b'\''),  // MODIFIER LETTER VERTICAL LINE
    ('\u{2D7}', b'-'),   // MODIFIER LETTER MINUS SIGN
    ('\u{37F}', b'J'),   // GREEK CAPITAL LETTER YOT
    ('\u{391}', b'A'),   // GREEK CAPITAL LETTER ALPHA
    ('\u{392}', b'B'),   // GREEK CAPITAL LETTER BETA
    ('\u{395}', b'E'),   // GREEK CAPITAL LETTER EPSILON
    ('\u{396}', b'Z'),   // GREEK CAPITAL LETTER ZETA
    ('\u{397}', b'H'),   // GREEK CAPITAL LETTER ETA
    ('\u{399}', b'I'),   // GREEK CAPITAL LETTER IOTA
    ('\u{39A}', b'K'),   // GREEK CAPITAL LETTER KAPPA
    ('\u{39C}', b'M'),   // GREEK CAPITAL LETTER MU
    ('\u{39D}', b'N'),   // GREEK CAPITAL LETTER NU
    ('\u{39F}', b'O'),   // GREEK CAPITAL LETTER OMICRON
    ('\u{3A1}', b'P'),   // GREEK CAPITAL LETTER RHO
    ('\u{3A4}', b'T'),   // GREEK CAPITAL LETTER TAU
    ('\u{3A5}', b'Y'),   // GREEK CAPITAL LETTER UPSILON
    ('\u{3A7}', b'X'),   // GREEK CAPITAL LETTER CHI
    ('\u{3B1}', b'a'),   // GREEK SMALL LETTER ALPHA
    ('\u{3B3}', b'y'),   // GREEK SMALL LETTER GAMMA
    ('\u{3B9}', b'i'),   // GREEK SMALL LETTER IOTA
    ('\u{3BA}', b'k'),   // GREEK SMALL LETTER KAPPA
    ('\u{3BD}', b'v'),   // GREEK SMALL LETTER NU
    ('\u{3BF}', b'o'),   // GREEK SMALL LETTER OMICRON
    ('\u{3C1}', b'p'),   // GREEK SMALL LETTER RHO
    ('\u{3C5}', b'u'),   // GREEK SMALL LETTER UPSILON
    ('\u{3F3}', b'j'),   // GREEK LETTER YOT
    ('\u{405}', b'S'),   // CYRILLIC CAPITAL LETTER DZE
    ('\u{406}', b'I'),   // CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I
    ('\u{408}', b'J'),   // CYRILLIC CAPITAL LETTER JE
    ('\u{410}', b'A'),   // CYRILLIC CAPITAL LETTER A
    ('\u{412}', b'B'),   // CYRILLIC CAPITAL LETTER VE
    ('\u{415}', b'E'),   // CYRILLIC CAPITAL LETTER IE
    ('\u{41A}', b'K'),   // CYRILLIC CAPITAL LETTER KA
    ('\u{41C}', b'M'),   // CYRILLIC CAPITAL LETTER EM
    ('\u{41D}', b'H'),   // CYRILLIC CAPITAL LETTER EN
    ('\u{41E}', b'O'),   // CYRILLIC CAPITAL LETTER O
    ('\u{420}', b'P'),   // CYRILLIC CAPITAL LETTER ER
    ('\u{421}', b'C'),   // CYRILLIC CAPITAL LETTER ES
    ('\u{422}', b'T'),   // CYRILLIC CAPITAL LETTER TE
    ('\u{423}', b'Y'),   // CYRILLIC CAPITAL LETTER U
    ('\u{425}', b'X'),   // CYRILLIC CAPITAL LETTER HA
    ('\u{430}', b'a'),   // CYRILLIC SMALL LETTER A
    ('\u{435}', b'e'),   // CYRILLIC SMALL LETTER IE
    ('\u{43E}', b'o'),   // CYRILLIC SMALL LETTER O
    ('\u{440}', b'p'),   // CYRILLIC SMALL LETTER ER
    ('\u{441}', b'c'),   // CYRILLIC SMALL LETTER ES
    ('\u{443}', b'y'),   // CYRILLIC SMALL LETTER U
    ('\u{445}', b'x'),   // CYRILLIC SMALL LETTER HA
    ('\u{455}', b's'),   // CYRILLIC SMALL LETTER DZE
    ('\u{456}', b'i'),   // CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
    ('\u{458}', b'j'),   // CYRILLIC SMALL LETTER JE
    ('\u{474}', b'V'),   // CYRILLIC CAPITAL LETTER IZHITSA
    ('\u{475}', b'v'),   // CYRILLIC SMALL LETTER IZHITSA
    ('\u{4AE}', b'Y'),   // CYRILLIC CAPITAL LETTER STRAIGHT U
    ('\u{4AF}', b'y'),   // CYRILLIC SMALL LETTER STRAIGHT U
    ('\u{4BA}', b'H'),   // CYRILLIC CAPITAL LETTER SHHA
    ('\u{4BB}', b'h'),   // CYRILLIC SMALL LETTER SHHA
    ('\u{4C0}', b'I'),   // CYRILLIC LETTER PALOCHKA
    ('\u{4CF}', b'l'),   // CYRILLIC SMALL LETTER PALOCHKA
    ('\u{501}', b'd'),   // CYRILLIC SMALL LETTER KOMI DE
    ('\u{51A}', b'Q'),   // CYRILLIC CAPITAL LETTER QA
    ('\u{51B}', b'q'),   // CYRILLIC SMALL LETTER QA
    ('\u{51C}', b'W'),   // CYRILLIC CAPITAL LETTER WE
    ('\u{51D}', b'w'),   // CYRILLIC SMALL LETTER WE
    ('\u{53C}', b'L'),   // ARMENIAN CAPITAL LETTER LIWN
    ('\u{54D}', b'U'),   // ARMENIAN CAPITAL LETTER SEH
    ('\u{54F}', b'S'),   // ARMENIAN CAPITAL LETTER TIWN
    ('\u{555}', b'O'),   // ARMENIAN CAPITAL LETTER OH
    ('\u{566}', b'q'),   // ARMENIAN SMALL LETTER ZA
    ('\u{570}', b'h'),   // ARMENIAN SMALL LETTER HO
    ('\u{578}', b'n'),   // ARMENIAN SMALL LETTER VO
    ('\u{57D}', b'u'),   // ARMENIAN SMALL LETTER SEH
    ('\u{581}', b'g'),   // ARMENIAN SMALL LETTER CO
    ('\u{585}', b'o'),   // ARMENIAN SMALL LETTER OH
    ('\u{13A0}', b'D'),  // CHEROKEE LETTER A
    ('\u{13A1}', b'R'),  // CHEROKEE LETTER E
    ('\u{13A2}', b'T'),  // CHEROKEE LETTER I
    ('\u{13A5}', b'i'),  // CHEROKEE LETTER V
    ('\u{13A9}', b'Y'),  // CHEROKEE LETTER GI
    ('\u{13AA}', b'A'),  // CHEROKEE LETTER GO
    ('\u{13AB}', b'J'),  // CHEROKEE LETTER GU
    ('\u{13AC}', b'E'),  // CHEROKEE LETTER GV
    ('\u{13B3}', b'W'),  // CHEROKEE LETTER LA
    ('\u{13B7}', b'M'),  // CHEROKEE LETTER LU
    ('\u{13BB}', b'H'),  // CHEROKEE LETTER MI
    ('\u{13C0}', b'G'),  // CHEROKEE LETTER NAH
    ('\u{13C2}', b'h'),  // CHEROKEE LETTER NI
    ('\u{13C3}', b'Z'),  // CHEROKEE LETTER NO
    ('\u{13CF}', b'b'),  // CHEROKEE LETTER SI
    ('\u{13D2}', b'R'),  // CHEROKEE LETTER SV
    ('\u{13D9}', b'V'),  // CHEROKEE LETTER DO
    ('\u{13DA}', b'S'),  // CHEROKEE LETTER DU
    ('\u{13DE}', b'L'),  // CHEROKEE LETTER TLE
    ('\u{13DF}', b'C'),  // CHEROKEE LETTER TLI
    ('\u{13E2}', b'P'),  // CHEROKEE LETTER TLV
    ('\u{13E6}', b'K'),  // CHEROKEE LETTER TSO
    ('\u{13F4}', b'B'),  // CHEROKEE LETTER YV
    ('\u{2010}', b'-'),  // HYPHEN
    ('\u{2012}', b'-'),  // FIGURE DASH
    ('\u{2013}', b'-'),  // EN DASH
    ('\u{2014}', b'-'),  // EM DASH
    ('\u{2015}', b'-'),  // HORIZONTAL BAR
    ('\u{2018}', b'\''), // LEFT SINGLE QUOTATION MARK
    ('\u{2019}', b'\''), // RIGHT SINGLE QUOTATION MARK
    ('\u{201A}', b'\''), // SINGLE LOW-9 QUOTATION MARK
    ('\u{201B}', b'\''), // SINGLE HIGH-REVERSED-9 QUOTATION MARK
    ('\u{201C}', b'"'),  // LEFT DOUBLE QUOTATION MARK
    ('\u{201D}', b'"'),  // RIGHT DOUBLE QUOTATION MARK
    ('\u{201E}', b'"'),  // DOUBLE LOW-9 QUOTATION MARK
    ('\u{201F}', b'"'),  // DOUBLE HIGH-REVERSED-9 QUOTATION MARK
    ('\u{2032}', b'\''), // PRIME
    ('\u{2043}', b'-'),  // HYPHEN BULLET
    ('\u{2212}', b'-'),  // MINUS SIGN
];

/// Looks `c` up in [`CONFUSABLES`].
pub(super) fn fold_confusable(c: char) -> Option<u8> {
    // Every entry is at or above U+0131; the common Latin-1 range answers without a search.
    if c < '\u{131}' {
        return None;
    }
    CONFUSABLES
        .binary_search_by_key(&c, |&(k, _)| k)
        .ok()
        .map(|i| CONFUSABLES[i].1)
}

/// Longest name in [`ENTITIES`]: a name run longer than this is not a reference.
pub(super) const ENTITY_NAME_MAX: usize = 24;

/// HTML named character references, sorted by name (byte order; names are case-sensitive).
///
/// Columns: name, character, and whether the reference is also recognised without its `;`.
/// The last is HTML's legacy set (the Latin-1 names plus `AMP COPY GT LT QUOT REG`), which
/// browsers decode without a semicolon; every other name needs its `;`. The set covers HTML 4
/// (Latin-1, Greek, typographic punctuation) and the HTML 5 names for ASCII punctuation and
/// invisible characters that obfuscators use (`&colon;`, `&sol;`, `&ZeroWidthSpace;`, …).
pub(super) const ENTITIES: &[(&str, char, bool)] = &[
    ("AElig", '\u{C6}', true),
    ("AMP", '\u{26}', true),
    ("Aacute", '\u{C1}', true),
    ("Acirc", '\u{C2}', true),
    ("Agrave", '\u{C0}', true),
    ("Alpha", '\u{391}', false),
    ("ApplyFunction", '\u{2061}', false),
    ("Aring", '\u{C5}', true),
    ("Atilde", '\u{C3}', true),
    ("Auml", '\u{C4}', true),
    ("Beta", '\u{392}', false),
    ("COPY", '\u{A9}', true),
    ("Ccedil", '\u{C7}', true),
    ("Chi", '\u{3A7}', false),
    ("CloseCurlyDoubleQuote", '\u{201D}', false),
    ("CloseCurlyQuote", '\u{2019}', false),
    ("Dagger", '\u{2021}', false),
    ("Delta", '\u{394}', false),
    ("DiacriticalGrave", '\u{60}', false),
    ("ETH", '\u{D0}', true),
    ("Eacute", '\u{C9}', true),
    ("Ecirc", '\u{CA}', true),
    ("Egrave", '\u{C8}', true),
    ("Epsilon", '\u{395}', false),
    ("Eta", '\u{397}', false),
    ("Euml", '\u{CB}', true),
    ("GT", '\u{3E}', true),
    ("Gamma", '\u{393}', false),
    ("Hat", '\u{5E}', false),
    ("Iacute", '\u{CD}', true),
    ("Icirc", '\u{CE}', true),
    ("Igrave", '\u{CC}', true),
    ("InvisibleComma", '\u{2063}', false),
    ("InvisibleTimes", '\u{2062}', false),
    ("Iota", '\u{399}', false),
    ("Iuml", '\u{CF}', true),
    ("Kappa", '\u{39A}', false),
    ("LT", '\u{3C}', true),
    ("Lambda", '\u{39B}', false),
    ("MediumSpace", '\u{205F}', false),
    ("Mu", '\u{39C}', false),
    ("NewLine", '\u{A}', false),
    ("NoBreak", '\u{2060}', false),
    ("NonBreakingSpace", '\u{A0}', false),
    ("Ntilde", '\u{D1}', true),
    ("Nu", '\u{39D}', false),
    ("OElig", '\u{152}', false),
    ("Oacute", '\u{D3}', true),
    ("Ocirc", '\u{D4}', true),
    ("Ograve", '\u{D2}', true),
    ("Omega", '\u{3A9}', false),
    ("Omicron", '\u{39F}', false),
    ("OpenCurlyDoubleQuote", '\u{201C}', false),
    ("OpenCurlyQuote", '\u{2018}', false),
    ("Oslash", '\u{D8}', true),
    ("Otilde", '\u{D5}', true),
    ("Ouml", '\u{D6}', true),
    ("Phi", '\u{3A6}', false),
    ("Pi", '\u{3A0}', false),
    ("Prime", '\u{2033}', false),
    ("Psi", '\u{3A8}', false),
    ("QUOT", '\u{22}', true),
    ("REG", '\u{AE}', true),
    ("Rho", '\u{3A1}', false),
    ("Scaron", '\u{160}', false),
    ("Sigma", '\u{3A3}', false),
    ("THORN", '\u{DE}', true),
    ("Tab", '\u{9}', false),
    ("Tau", '\u{3A4}', false),
    ("Theta", '\u{398}', false),
    ("ThinSpace", '\u{2009}', false),
    ("Uacute", '\u{DA}', true),
    ("Ucirc", '\u{DB}', true),
    ("Ugrave", '\u{D9}', true),
    ("UnderBar", '\u{5F}', false),
    ("Upsilon", '\u{3A5}', false),
    ("Uuml", '\u{DC}', true),
    ("VerticalLine", '\u{7C}', false),
    ("Xi", '\u{39E}', false),
    ("Yacute", '\u{DD}', true),
    ("Yuml", '\u{178}', false),
    ("ZeroWidthSpace", '\u{200B}', false),
    ("Zeta", '\u{396}', false),
    ("aacute", '\u{E1}', true),
    ("acirc", '\u{E2}', true),
    ("acute", '\u{B4}', true),
    ("aelig", '\u{E6}', true),
    ("agrave", '\u{E0}', true),
    ("alpha", '\u{3B1}', false),
    ("amp", '\u{26}', true),
    ("apos", '\u{27}', false),
    ("aring", '\u{E5}', true),
    ("ast", '\u{2A}', false),
    ("atilde", '\u{E3}', true),
    ("auml", '\u{E4}', true),
    ("bdquo", '\u{201E}', false),
    ("beta", '\u{3B2}', false),
    ("brvbar", '\u{A6}', true),
    ("bsol", '\u{5C}', false),
    ("bull", '\u{2022}', false),
    ("ccedil", '\u{E7}', true),
    ("cedil", '\u{B8}', true),
    ("cent", '\u{A2}', true),
    ("chi", '\u{3C7}', false),
    ("circ", '\u{2C6}', false),
    ("colon", '\u{3A}', false),
    ("comma", '\u{2C}', false),
    ("commat", '\u{40}', false),
    ("copy", '\u{A9}', true),
    ("curren", '\u{A4}', true),
    ("dagger", '\u{2020}', false),
    ("dash", '\u{2010}', false),
    ("deg", '\u{B0}', true),
    ("delta", '\u{3B4}', false),
    ("divide", '\u{F7}', true),
    ("dollar", '\u{24}', false),
    ("eacute", '\u{E9}', true),
    ("ecirc", '\u{EA}', true),
    ("egrave", '\u{E8}', true),
    ("emsp", '\u{2003}', false),
    ("emsp13", '\u{2004}', false),
    ("emsp14", '\u{2005}', false),
    ("ensp", '\u{2002}', false),
    ("epsilon", '\u{3B5}', false),
    ("equals", '\u{3D}', false),
    ("eta", '\u{3B7}', false),
    ("eth", '\u{F0}', true),
    ("euml", '\u{EB}', true),
    ("euro", '\u{20AC}', false),
    ("excl", '\u{21}', false),
    ("fnof", '\u{192}', false),
    ("frac12", '\u{BD}', true),
    ("frac14", '\u{BC}', true),
    ("frac34", '\u{BE}', true),
    ("frasl", '\u{2044}', false),
    ("gamma", '\u{3B3}', false),
    ("grave", '\u{60}', false),
    ("gt", '\u{3E}', true),
    ("hairsp", '\u{200A}', false),
    ("hellip", '\u{2026}', false),
    ("horbar", '\u{2015}', false),
    ("hyphen", '\u{2010}', false),
    ("iacute", '\u{ED}', true),
    ("icirc", '\u{EE}', true),
    ("iexcl", '\u{A1}', true),
    ("igrave", '\u{EC}', true),
    ("iota", '\u{3B9}', false),
    ("iquest", '\u{BF}', true),
    ("iuml", '\u{EF}', true),
    ("kappa", '\u{3BA}', false),
    ("lambda", '\u{3BB}', false),
    ("laquo", '\u{AB}', true),
    ("lbrace", '\u{7B}', false),
    ("lbrack", '\u{5B}', false),
    ("lcub", '\u{7B}', false),
    ("ldquo", '\u{201C}', false),
    ("ldquor", '\u{201E}', false),
    ("lowast", '\u{2217}', false),
    ("lowbar", '\u{5F}', false),
    ("lpar", '\u{28}', false),
    ("lrm", '\u{200E}', false),
    ("lsaquo", '\u{2039}', false),
    ("lsqb", '\u{5B}', false),
    ("lsquo", '\u{2018}', false),
    ("lsquor", '\u{201A}', false),
    ("lt", '\u{3C}', true),
    ("macr", '\u{AF}', true),
    ("mdash", '\u{2014}', false),
    ("micro", '\u{B5}', true),
    ("midast", '\u{2A}', false),
    ("middot", '\u{B7}', true),
    ("minus", '\u{2212}', false),
    ("mu", '\u{3BC}', false),
    ("nbsp", '\u{A0}', true),
    ("ndash", '\u{2013}', false),
    ("nobreak", '\u{2060}', false),
    ("not", '\u{AC}', true),
    ("ntilde", '\u{F1}', true),
    ("nu", '\u{3BD}', false),
    ("num", '\u{23}', false),
    ("numsp", '\u{2007}', false),
    ("oacute", '\u{F3}', true),
    ("ocirc", '\u{F4}', true),
    ("oelig", '\u{153}', false),
    ("ograve", '\u{F2}', true),
    ("oline", '\u{203E}', false),
    ("omega", '\u{3C9}', false),
    ("omicron", '\u{3BF}', false),
    ("ordf", '\u{AA}', true),
    ("ordm", '\u{BA}', true),
    ("oslash", '\u{F8}', true),
    ("otilde", '\u{F5}', true),
    ("ouml", '\u{F6}', true),
    ("para", '\u{B6}', true),
    ("percnt", '\u{25}', false),
    ("period", '\u{2E}', false),
    ("permil", '\u{2030}', false),
    ("phi", '\u{3C6}', false),
    ("pi", '\u{3C0}', false),
    ("piv", '\u{3D6}', false),
    ("plus", '\u{2B}', false),
    ("plusmn", '\u{B1}', true),
    ("pound", '\u{A3}', true),
    ("prime", '\u{2032}', false),
    ("psi", '\u{3C8}', false),
    ("puncsp", '\u{2008}', false),
    ("quest", '\u{3F}', false),
    ("quot", '\u{22}', true),
    ("raquo", '\u{BB}', true),
    ("rbrace", '\u{7D}', false),
    ("rbrack", '\u{5D}', false),
    ("rcub", '\u{7D}', false),
    ("rdquo", '\u{201D}', false),
    ("rdquor", '\u{201D}', false),
    ("reg", '\u{AE}', true),
    ("rho", '\u{3C1}', false),
    ("rlm", '\u{200F}', false),
    ("rpar", '\u{29}', false),
    ("rsaquo", '\u{203A}', false),
    ("rsqb", '\u{5D}', false),
    ("rsquo", '\u{2019}', false),
    ("rsquor", '\u{2019}', false),
    ("sbquo", '\u{201A}', false),
    ("scaron", '\u{161}', false),
    ("sect", '\u{A7}', true),
    ("semi", '\u{3B}', false),
    ("shy", '\u{AD}', true),
    ("sigma", '\u{3C3}', false),
    ("sigmaf", '\u{3C2}', false),
    ("sol", '\u{2F}', false),
    ("sup1", '\u{B9}', true),
    ("sup2", '\u{B2}', true),
    ("sup3", '\u{B3}', true),
    ("szlig", '\u{DF}', true),
    ("tau", '\u{3C4}', false),
    ("theta", '\u{3B8}', false),
    ("thetasym", '\u{3D1}', false),
    ("thinsp", '\u{2009}', false),
    ("thorn", '\u{FE}', true),
    ("tilde", '\u{2DC}', false),
    ("times", '\u{D7}', true),
    ("trade", '\u{2122}', false),
    ("uacute", '\u{FA}', true),
    ("ucirc", '\u{FB}', true),
    ("ugrave", '\u{F9}', true),
    ("uml", '\u{A8}', true),
    ("upsih", '\u{3D2}', false),
    ("upsilon", '\u{3C5}', false),
    ("uuml", '\u{FC}', true),
    ("verbar", '\u{7C}', false),
    ("vert", '\u{7C}', false),
    ("xi", '\u{3BE}', false),
    ("yacute", '\u{FD}', true),
    ("yen", '\u{A5}', true),
    ("yuml", '\u{FF}', true),
    ("zeta", '\u{3B6}', false),
    ("zwj", '\u{200D}', false),
    ("zwnj", '\u{200C}', false),
];

/// Looks an entity name up: its character and whether it may omit the `;`.
pub(super) fn named_entity(name: &[u8]) -> Option<(char, bool)> {
    ENTITIES
        .binary_search_by(|&(n, _, _)| n.as_bytes().cmp(name))
        .ok()
        .map(|i| (ENTITIES[i].1, ENTITIES[i].2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    #[test]
    fn confusables_sorted_unique_nfkc_stable_ascii() {
        assert!(
            CONFUSABLES.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted and unique"
        );
        for &(c, a) in CONFUSABLES {
            assert!(a.is_ascii_graphic(), "{c:?} folds to ASCII");
            assert_eq!(
                c.to_string().nfkc().collect::<String>(),
                c.to_string(),
                "{c:?} NFKC-stable"
            );
            assert!(!is_invisible(c));
        }
        assert!(
            CONFUSABLES[0].0 >= '\u{131}',
            "fast reject in fold_confusable"
        );
    }

    #[test]
    fn entities_sorted_unique_bounded() {
        assert!(ENTITIES.len() >= 100);
        assert!(
            ENTITIES.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted and unique"
        );
        for &(name, c, legacy) in ENTITIES {
            assert!(name.len() <= ENTITY_NAME_MAX, "{name}");
            assert!(name.bytes().all(|b| b.is_ascii_alphanumeric()), "{name}");
            assert!(name.as_bytes()[0].is_ascii_alphabetic(), "{name}");
            assert_eq!(named_entity(name.as_bytes()), Some((c, legacy)));
            if legacy {
                assert!(c <= '\u{FF}', "legacy names are Latin-1: {name}");
            }
        }
        assert_eq!(named_entity(b"amp"), Some(('&', true)));
        assert_eq!(named_entity(b"Amp"), None, "names are case-sensitive");
        assert_eq!(named_entity(b"rsquo"), Some(('\u{2019}', false)));
    }
}
