// DDP over WebSocket with two personalities, as CONTRACT.md > "ddp-streamer on the wire" describes:
//
// * ddp-streamer: GET /health -> "ok" (when healthy); any other plain GET -> SockJS info JSON with
//   "ms": true; DDP sessions are UUIDs; `connect` is answered `connected` whatever the version.
// * monolith (Meteor): GET /sockjs/info -> SockJS info without "ms"; other GETs -> a page; sessions
//   are 17-character Meteor ids; an unsupported version gets {"msg":"failed"}.
//
// Both serve raw DDP on /websocket and SockJS framing (o, h, a[...]) on
// /sockjs/<server>/<session>/websocket. Used by the component stand-ins (standin.js) and, through
// ddp-server.js, by the probe self-tests (fixtures/ddp/server.py).
"use strict";

const crypto = require("crypto");
const http = require("http");
const { WebSocketServer } = require("ws");

const STREAMER = "ddp-streamer";
const MONOLITH = "monolith";
const METEOR_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"; // Meteor's Random.id()
const SUPPORTED_VERSIONS = ["1", "pre2", "pre1"];
const SOCKJS_WEBSOCKET = /^\/sockjs\/[^/.]+\/[^/.]+\/websocket$/;

function meteorId() {
	let id = "";
	for (let i = 0; i < 17; i++) id += METEOR_ID_ALPHABET[crypto.randomInt(METEOR_ID_ALPHABET.length)];
	return id;
}

function sockjsInfo(personality) {
	const info = { websocket: true, origins: ["*:*"], cookie_needed: false, entropy: crypto.randomInt(2 ** 32 - 1) };
	if (personality === STREAMER) info.ms = true;
	return info;
}

// The reply to one DDP message, or null.
function answer(personality, message) {
	const kind = message.msg;
	if (kind === "connect") {
		if (personality === STREAMER) return { msg: "connected", session: crypto.randomUUID() };
		const version = message.version;
		const support = Array.isArray(message.support) ? message.support : [];
		if (SUPPORTED_VERSIONS.includes(version) && support.includes(version)) {
			return { msg: "connected", session: meteorId() };
		}
		const proposal = support.find(v => SUPPORTED_VERSIONS.includes(v)) || SUPPORTED_VERSIONS[0];
		return { msg: "failed", version: proposal };
	}
	if (kind === "ping") return "id" in message ? { msg: "pong", id: message.id } : { msg: "pong" };
	if (kind === "method") {
		return { msg: "result", id: message.id, error: { error: 404, reason: `Method '${message.method}' not found` } };
	}
	if (kind === "sub") return { msg: "nosub", id: message.id, error: { error: 404, reason: "Subscription not found" } };
	if (kind === "__malformed__") return { msg: "error", reason: "Bad request" };
	return null;
}

function decode(frame, sockjs) {
	try {
		const data = JSON.parse(frame);
		const texts = sockjs ? data : [frame];
		if (!Array.isArray(texts)) return [{ msg: "__malformed__" }];
		return texts.map(t => JSON.parse(t)).filter(m => m && typeof m === "object" && !Array.isArray(m));
	} catch (err) {
		return [{ msg: "__malformed__" }];
	}
}

function send(res, status, body, contentType) {
	res.writeHead(status, {
		"Content-Type": contentType,
		"Content-Length": Buffer.byteLength(body),
		"Access-Control-Allow-Origin": "*"
	});
	res.end(body);
}

/**
 * An http.Server speaking DDP as `personality`.
 * opts.sockjsHeartbeat: seconds between SockJS "h" frames; opts.healthy(): whether /health says ok
 * (ddp-streamer; the monolith's page is always served); opts.onSessions(n): open session count.
 */
function createDdpServer(personality, opts = {}) {
	if (personality !== STREAMER && personality !== MONOLITH) throw new Error(`unknown personality ${personality}`);
	const heartbeatMs = 1000 * (opts.sockjsHeartbeat || 25);
	const healthy = opts.healthy || (() => true);
	const onSessions = opts.onSessions || (() => {});
	let sessions = 0;

	const server = http.createServer((req, res) => {
		const path = (req.url || "/").split("?", 1)[0];
		if (personality === STREAMER) {
			if (path === "/health") {
				if (healthy()) return send(res, 200, "ok", "text/plain");
				return send(res, 503, "not healthy: not connected to the bus", "text/plain");
			}
			return send(res, 200, JSON.stringify(sockjsInfo(STREAMER)), "application/json; charset=UTF-8");
		}
		if (path === "/sockjs/info") {
			return send(res, 200, JSON.stringify(sockjsInfo(MONOLITH)), "application/json; charset=UTF-8");
		}
		return send(res, 200, "<!DOCTYPE html><title>QuickMeet.Chat</title>\n", "text/html; charset=utf-8");
	});

	const wss = new WebSocketServer({ noServer: true });
	server.on("upgrade", (req, socket, head) => {
		const path = (req.url || "/").split("?", 1)[0];
		if (path !== "/websocket" && !SOCKJS_WEBSOCKET.test(path)) {
			socket.end("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n");
			return;
		}
		wss.handleUpgrade(req, socket, head, ws => converse(ws, path.startsWith("/sockjs/")));
	});

	function converse(ws, sockjs) {
		const out = message => {
			const text = JSON.stringify(message);
			ws.send(sockjs ? "a" + JSON.stringify([text]) : text);
		};
		let heartbeat = null;
		onSessions(++sessions);
		ws.on("close", () => {
			if (heartbeat) clearInterval(heartbeat);
			onSessions(--sessions);
		});
		ws.on("error", () => {});
		ws.on("message", data => {
			for (const message of decode(data.toString(), sockjs)) {
				const reply = answer(personality, message);
				if (reply !== null) out(reply);
			}
		});
		if (sockjs) {
			ws.send("o");
			heartbeat = setInterval(() => ws.send("h"), heartbeatMs);
		}
		out(personality === STREAMER ? { msg: "server_id", server_id: "0" } : { server_id: "0" });
	}

	server.closeAll = () =>
		new Promise(resolve => {
			for (const ws of wss.clients) ws.terminate();
			server.close(() => resolve());
			if (server.closeAllConnections) server.closeAllConnections();
		});
	return server;
}

module.exports = { MONOLITH, STREAMER, answer, createDdpServer, decode, meteorId, sockjsInfo };
