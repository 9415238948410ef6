"""The services every face calls: answering, ingesting, knowledge-base administration and
conversations, built once from `Settings` by one container. A face renders what they return."""
