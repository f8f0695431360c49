package gen

// The corpus of the reference generator. Keys are the words of Lorem ipsum
// (without "id", which the reference never uses); string values are the
// chunks and lines below, stored decoded and escaped once by New.

var loremWords = []string{
	"Lorem", "ipsum", "dolor", "sit", "amet,", "consectetur", "adipiscing", "elit,",
	"sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore",
	"magna", "aliqua.", "Ut", "enim", "ad", "minim", "veniam,", "quis", "nostrud",
	"exercitation", "ullamco", "laboris", "nisi", "ut", "aliquip", "ex", "ea",
	"commodo", "consequat.", "Duis", "aute", "irure", "dolor", "in", "reprehenderit",
	"in", "voluptate", "velit", "esse", "cillum", "dolore", "eu", "fugiat", "nulla",
	"pariatur.", "Excepteur", "sint", "occaecat", "cupidatat", "non", "proident,",
	"sunt", "in", "culpa", "qui", "officia", "deserunt", "mollit", "anim", "est",
	"laborum.",
}

// dlangChunks is dlang.org's blurb in eight-word chunks, each joined by a
// different separator so that together they use every short JSON escape.
var dlangChunks = []string{
	"D allows writing large code fragments without redundantly",
	"specifying\"types,\"like\"dynamic\"languages\"do.\"On\"the",
	"other\\hand,\\static\\inference\\deduces\\types\\and\\other",
	"code/properties,/giving/the/best/of/both/the",
	"static\band\bthe\bdynamic\bworlds.\bShow\bexample\bAutomatic",
	"memory\fmanagement\fmakes\ffor\fsafe,\fsimple,\fand\frobust",
	"code.\nD\nalso\nsupports\nscoped\nresource\nmanagement\n(aka",
	"the\rRAII\ridiom)\rand\rscope\rstatements\rfor\rdeterministic",
	"transactional\tcode\tthat\tis\teasy\tto\twrite\tand",
	"read. Show example Built-in linear and associative arrays,",
	"slices,\"and\"ranges\"make\"daily\"programming\"simple\"and",
	"pleasant\\for\\tasks,\\both\\small\\and\\large.\\Show",
	"example",
}

// demonLines is Pushkin's "Демон" (1823), the UTF-8 text of the samples.
var demonLines = []string{
	"В те дни, когда мне были новы",
	"Все впечатленья бытия -",
	"И взоры дев, и шум дубровы,",
	"И ночью пенье соловья,-",
	"Когда возвышенные чувства,",
	"Свобода, слава и любовь",
	"И вдохновенные искусства",
	"Так сильно волновали кровь,-",
	"Часы надежд и наслаждений",
	"Тоской внезапной осеня,",
	"Тогда какой-то злобный гений",
	"Стал тайно навещать меня.",
	"Печальны были наши встречи:",
	"Его улыбка, чудный взгляд,",
	"Его язвительные речи",
	"Вливали в душу хладный яд.",
	"Неистощимой клеветою",
	"Он провиденье искушал;",
	"Он звал прекрасное мечтою;",
	"Он вдохновенье презирал;",
	"Не верил он любви, свободе;",
	"На жизнь насмешливо глядел -",
	"И ничего во всей природе",
	"Благословить он не хотел.",
}

// demonTitle is not in the samples: written \u-escaped it is the corpus's
// only surrogate pair.
const demonTitle = "\U0001F47F Демон"

// trapKeys are top-level keys (already JSON-encoded, with the colon) whose
// raw bytes resemble uid or ts but which decode to other names. None may
// ever decode to exactly "uid" or "ts": that would make the frame invalid.
var trapKeys = []string{
	`"\u0055ID":`,           // UID: only a case-insensitive match takes it for uid
	`"ui\u0064\u0000":`,     // uid + NUL: only a C-string compare takes it for uid
	`"\u0074s_":`,           // ts_
	`"\u0054S":`,            // TS
	`"d\u006flor":`,         // dolor, escaped for no reason, as some encoders do
	`"u\u0069d\u0020":`,     // "uid "
	`"\u0074\u0073\u0073":`, // tss
}
