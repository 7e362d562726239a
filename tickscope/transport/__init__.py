"""Kafka plumbing below the stages: the embedded broker, topic creation, whole-partition reads."""
