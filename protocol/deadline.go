package protocol

import "time"

// deadlineIn is the stream deadline d from now. Streams compare their
// deadlines with the system clock, whatever clock a server is given for
// its measurements, so every stream deadline reads it here, in one place.
func deadlineIn(d time.Duration) time.Time { return time.Now().Add(d) }
