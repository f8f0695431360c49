// Package window assigns frames to tumbling windows (minute to year, on the
// calendar of a time zone) and keeps each open window's unique counter until
// the watermark passes its end; then the window's final result is produced.
//
// calendar.go says where windows start and end; engine.go holds the open
// windows of every kind and closes them. One Engine serves every window kind
// from one parse of each frame.
package window
