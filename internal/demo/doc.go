// Package demo is `headcount demo`: zero set-up. It starts an embedded
// Kafka-compatible broker in the process (franz-go's kfake, on 127.0.0.1),
// produces generated traffic to it live, runs the real pipeline (the Kafka
// source, counting, the Kafka sink) and prints each final per-minute count
// as a consumer of the output topic sees it.
//
// Event time is sped up (Config.Speedup, default 10×): the traffic starts at
// the beginning of the current minute and its clock runs ten times faster
// than the wall clock, so a minute closes every 6 s instead of every 60 s
// and the first final count appears within about 7 s. The pipeline is given
// the same clock (pipeline.Config.Now), so idle detection and the
// plausibility of timestamps work in demo time. At 10× the wall-clock rate
// is ten times --rate, 10,000 frames (about 20 MB) a second by default;
// the embedded broker keeps its log in memory, so the demo deletes records
// once its group has committed them.
//
// 1% of the frames arrive up to 30 s late (event time). Those later than the
// lateness (5 s) find their minute closed but kept (the run command's
// --keep of an hour): they are counted and the minute is republished as a
// correction; the printer shows the latest correction of each minute just
// before the next minute's final count. Frames later than --keep would be
// shown in the status line as "too late", as the dead-letter output would
// receive them; with these delays there are none.
//
// Like real traffic, 0.5% of the frames are broken (badKinds: truncated,
// Latin-1, uid renamed…) and 0.1% carry a timestamp with a flipped bit.
// The pipeline rejects them as it rejects any; the demo counts what it sent
// of each reason before producing it, so a reject beyond those counts is a
// good frame rejected, which it reports (Stats).
package demo
