// Package mqtt bridges MQTT and Kafka in both directions: a source that
// subscribes to an MQTT broker (Mosquitto, EMQX, HiveMQ) with a
// persistent session and acknowledges each message to it only once the
// Sluice broker holds the record, a built-in MQTT server devices publish
// to directly (answered PUBACK/PUBCOMP only once their message is
// durable), and a sink that publishes records to an MQTT broker and
// commits offsets only after the publishes were acknowledged. The keys
// are Confluent's MQTT connectors' (connectors-wave2 §6.1, §6.2).
package mqtt
