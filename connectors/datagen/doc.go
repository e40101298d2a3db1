// Package datagen provides a data generator source for demos, tests and
// benchmarks, in the manner of Confluent's kafka-connect-datagen: its class
// name works as an alias and its main keys mean the same.
//
// Each task generates records of one "quickstart" shape with a STRING key
// drawn from key.cardinality distinct values and a STRUCT value:
//
//	users      ksql.users      registertime, userid, regionid, gender, seq       key: userid (User_<n>)
//	pageviews  ksql.pageviews  viewtime, userid, pageid, seq                     key: userid (User_<n>)
//	orders     ksql.orders     ordertime, orderid, itemid, orderunits,
//	                           address{city, state, zipcode}, seq                key: itemid (Item_<n>)
//	bench      io.sluice.datagen.Bench  seq, task, ts (Timestamp), payload    key: key_<n>
//
// Every value carries seq, the task's sequence number (0, 1, 2, ...), so a
// consumer can detect lost or repeated records. The source partition is
// {"task": <task id>} and the offset {"seq": <seq>}; a restarted task
// continues after the committed seq, so it neither repeats acknowledged
// records nor skips any. With random.seed set, a record's key and value
// depend only on the seed, the task id and seq (bench's ts is the time of
// generation).
//
// # Config keys
//
//	kafka.topic      STRING  required   topic to write to
//	quickstart       STRING  users      users, pageviews, orders or bench
//	max.interval     LONG    500        most milliseconds between two records of a task (0: no wait)
//	iterations       INT     -1         records per task, less than 1 for unlimited
//	random.seed      LONG    null       seed making the data reproducible
//	rate             DOUBLE  0          records per second per task; overrides max.interval when > 0
//	key.cardinality  LONG    1000       number of distinct keys
//	message.size     INT     1024       payload length in bytes for quickstart=bench
//	batch.size       INT     1000       most records returned by one poll
//
// The connector runs tasks.max tasks; each task's config carries its id in
// task.id. A task that has generated iterations records stays idle until it
// is stopped.
package datagen
