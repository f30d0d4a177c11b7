// A MongoDB stand-in: accepts connections on the MongoDB port and answers the handshake and health
// commands (hello / isMaster / ping / buildInfo) of the wire protocol, so a TCP probe, a driver's
// server discovery and a `ping` see a primary. Anything else gets a clear "stand-in" error. No registry
// here ships MongoDB; the kind lane does not need its data.
"use strict";

const net = require("net");

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;

// A BSON document from a flat object of numbers (double), booleans and strings.
function bson(doc) {
	const parts = [];
	for (const [key, value] of Object.entries(doc)) {
		const name = Buffer.from(key + "\0");
		if (typeof value === "boolean") {
			parts.push(Buffer.from([0x08]), name, Buffer.from([value ? 1 : 0]));
		} else if (typeof value === "number") {
			const v = Buffer.alloc(8);
			v.writeDoubleLE(value);
			parts.push(Buffer.from([0x01]), name, v);
		} else {
			const s = Buffer.from(String(value) + "\0");
			const len = Buffer.alloc(4);
			len.writeInt32LE(s.length);
			parts.push(Buffer.from([0x02]), name, len, s);
		}
	}
	const body = Buffer.concat(parts);
	const out = Buffer.alloc(4 + body.length + 1);
	out.writeInt32LE(out.length);
	body.copy(out, 4);
	return out;
}

// The name of the first element of the BSON document at `offset` (the command name).
function firstKey(buf, offset) {
	const start = offset + 5; // int32 length + element type
	const end = buf.indexOf(0, start);
	return end > start ? buf.toString("utf8", start, end) : "";
}

function commandReply(command) {
	const name = command.toLowerCase();
	if (name === "hello" || name === "ismaster") {
		return {
			ismaster: true, isWritablePrimary: true, helloOk: true, maxBsonObjectSize: 16777216,
			maxMessageSizeBytes: 48000000, maxWriteBatchSize: 100000, localTime: Date.now(),
			logicalSessionTimeoutMinutes: 30, connectionId: 1, minWireVersion: 0, maxWireVersion: 21,
			readOnly: false, ok: 1
		};
	}
	if (name === "ping") return { ok: 1 };
	if (name === "buildinfo") return { version: "7.0.0-qmc-standin", ok: 1 };
	return { ok: 0, errmsg: `the QuickMeet.Chat conformance MongoDB stand-in does not run '${command}'`, code: 59 };
}

function header(length, requestId, responseTo, opCode) {
	const h = Buffer.alloc(16);
	h.writeInt32LE(length, 0);
	h.writeInt32LE(requestId, 4);
	h.writeInt32LE(responseTo, 8);
	h.writeInt32LE(opCode, 12);
	return h;
}

// The reply to one whole message, or null (unknown op code: the stand-in closes the connection).
function reply(message, requestId) {
	const responseTo = message.readInt32LE(4);
	const opCode = message.readInt32LE(12);
	if (opCode === OP_MSG && message[20] === 0) {
		const doc = bson(commandReply(firstKey(message, 21)));
		const body = Buffer.concat([Buffer.alloc(4), Buffer.from([0]), doc]); // flagBits, section kind 0
		return Buffer.concat([header(16 + body.length, requestId, responseTo, OP_MSG), body]);
	}
	if (opCode === OP_QUERY) {
		const nameEnd = message.indexOf(0, 20);
		const doc = bson(commandReply(firstKey(message, nameEnd + 1 + 8)));
		const body = Buffer.alloc(20);
		body.writeInt32LE(1, 16); // numberReturned; flags, cursorID and startingFrom stay 0
		return Buffer.concat([header(16 + 20 + doc.length, requestId, responseTo, OP_REPLY), body, doc]);
	}
	return null;
}

function createMongoServer() {
	let requestId = 1;
	return net.createServer(socket => {
		let pending = Buffer.alloc(0);
		socket.on("error", () => {});
		socket.on("data", chunk => {
			pending = Buffer.concat([pending, chunk]);
			while (pending.length >= 16) {
				const length = pending.readInt32LE(0);
				if (length < 16 || length > 48000000) return socket.destroy();
				if (pending.length < length) return;
				const out = reply(pending.subarray(0, length), requestId++);
				pending = pending.subarray(length);
				if (out === null) return socket.destroy();
				socket.write(out);
			}
		});
	});
}

module.exports = { bson, commandReply, createMongoServer, reply };
