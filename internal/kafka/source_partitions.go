// The partition registry: dense int32 ids for the partitions of every topic, in
// the order first seen, and Origin to map them back. Apart because the
// pipeline knows partitions only by these ids, and dead letters need the way
// back to a topic and partition.

package kafka

type topicPartition struct {
	topic     string
	partition int32
}

// id returns the dense partition id of key, assigning the next one when new.
func (s *Source) id(key topicPartition) int32 {
	if id, ok := s.ids[key]; ok {
		return id
	}
	s.mu.Lock()
	id := int32(len(s.names))
	s.names = append(s.names, key)
	s.mu.Unlock()
	s.ids[key] = id
	return id
}

// Origin returns the topic and partition of a dense partition id.
func (s *Source) Origin(id int32) (topic string, partition int32, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id < 0 || int(id) >= len(s.names) {
		return "", 0, false
	}
	tp := s.names[id]
	return tp.topic, tp.partition, true
}
