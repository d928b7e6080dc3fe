'use strict';
/*
 * Strict OCPP-J 1.6 CSMS test peer, driven over stdin/stdout JSON lines.
 *
 * Why: ocpp-rpc validates every frame against its own bundled OCPP 1.6 schemas
 * (ajv + formats), independently of the Python `ocpp` package our charge point
 * uses, so it acts as a second opinion on everything the charge point sends.
 *
 * Usage: node bridge.js PORT        (PORT 0 = pick a free port)
 *        STRICT_CSMS_PASSWORD=secret node bridge.js PORT   (require Basic auth)
 *        STRICT_CSMS_TLS_CERT=chain.pem STRICT_CSMS_TLS_KEY=key.pem node bridge.js PORT   (wss://)
 *          + STRICT_CSMS_TLS_CLIENT_CA=ca.pem: ask for client certificates from that CA; a connection
 *            with a verified one needs no password (security profile 3), one without still does (2)
 *          + STRICT_CSMS_TLS_REQUIRE_CLIENT_CERT=1: refuse the TLS handshake without one
 *
 * stdout events (one JSON object per line, field `ev`):
 *   listening {port, tls} | connected {cp, password, protocol, tls, clientCn, clientSerial}
 *   rejected {cp, status, reason, password}
 *   call_in {cp, action, params, messageId} | call_result {id, cp, action, result}
 *   call_error {id, cp, action, kind, code, description, details}
 *   strict_fail {cp, direction, kind, action, messageId, code, message, errors, payload}
 *   bad_message {cp, frame, code, message, response} | closed {cp, code, reason} | error {message}
 * stdin commands:
 *   {"id":1,"cp":"CP1","call":"Reset","params":{...},"timeoutMs":5000}
 *   {"cp":"CP1","reply":{"Action":payload | {"__callerror":"Code","description":"..","details":{}}
 *                                  | {"__noreply":true} | null (back to the default answer)}}
 *   {"cp":"CP1","drop":true,"force":false,"code":1000} | {"quit":true}
 */
const fs = require('fs');
const https = require('https');
const readline = require('readline');
const { RPCServer, createRPCError, NOREPLY } = require('ocpp-rpc');

const PROTOCOL = 'ocpp1.6';
const MSG_CALLERROR = 4;
const requiredPassword = process.env.STRICT_CSMS_PASSWORD || null;
const tlsCert = process.env.STRICT_CSMS_TLS_CERT || null;
const tlsKey = process.env.STRICT_CSMS_TLS_KEY || null;
const tlsClientCa = process.env.STRICT_CSMS_TLS_CLIENT_CA || null;
const requireClientCert = process.env.STRICT_CSMS_TLS_REQUIRE_CLIENT_CERT === '1';

let nextTransactionId = 1;

/** Valid default answers to every CP->CSMS action of OCPP 1.6 and its security extension. */
const defaultReplies = {
    BootNotification: () => ({ status: 'Accepted', interval: 300, currentTime: new Date().toISOString() }),
    Heartbeat: () => ({ currentTime: new Date().toISOString() }),
    StatusNotification: () => ({}),
    Authorize: () => ({ idTagInfo: { status: 'Accepted' } }),
    StartTransaction: () => ({ transactionId: nextTransactionId++, idTagInfo: { status: 'Accepted' } }),
    StopTransaction: (params) => (params.idTag ? { idTagInfo: { status: 'Accepted' } } : {}),
    MeterValues: () => ({}),
    // A CSMS without vendor extensions answers UnknownVendorId (1.6 §4.3); override per test if needed.
    DataTransfer: () => ({ status: 'UnknownVendorId' }),
    DiagnosticsStatusNotification: () => ({}),
    FirmwareStatusNotification: () => ({}),
    SecurityEventNotification: () => ({}),
    SignCertificate: () => ({ status: 'Accepted' }),
    LogStatusNotification: () => ({}),
    SignedFirmwareStatusNotification: () => ({}),
};

/** identity -> {action -> override value}; kept across reconnects so tests can set it before connecting. */
const replyOverrides = new Map();
/** identity -> {client, describeCallError} for the most recent connection of that charge point. */
const connections = new Map();
/** Errors raised by strict validation, so a failed CSMS call can say "strict" rather than "local". */
const strictErrors = new WeakSet();

function emit(event) {
    process.stdout.write(JSON.stringify(event) + '\n');
}

function passwordText(passwordBuffer) {
    return passwordBuffer === undefined ? null : passwordBuffer.toString('utf8');
}

/** TLS facts of a handshake: {tls: [version, cipher] | null, clientCn: verified client certificate CN | null,
 *  clientSerial: its serial number, hex as OpenSSL prints it | null}. */
function tlsOf(request) {
    const socket = request && request.socket;
    if (!socket || !socket.encrypted) {
        return { tls: null, clientCn: null, clientSerial: null };
    }
    const peer = socket.authorized ? socket.getPeerCertificate() : null;
    return {
        tls: [socket.getProtocol(), socket.getCipher().standardName || socket.getCipher().name],
        clientCn: peer && peer.subject ? peer.subject.CN || null : null,
        clientSerial: peer && peer.serialNumber ? peer.serialNumber : null,
    };
}

/** With TLS env vars set: an https server on port/host that hands websocket upgrades to ocpp-rpc. */
async function listenTls(server, port, host) {
    const options = { cert: fs.readFileSync(tlsCert), key: fs.readFileSync(tlsKey), minVersion: 'TLSv1.2' };
    if (tlsClientCa) {
        Object.assign(options, { ca: fs.readFileSync(tlsClientCa), requestCert: true,
                                 rejectUnauthorized: requireClientCert });
    }
    const httpsServer = https.createServer(options, (req, res) => {
        res.statusCode = 404;
        res.end();
    });
    httpsServer.on('upgrade', server.handleUpgrade);
    httpsServer.on('tlsClientError', (err) => emit({ ev: 'tls_error', message: String(err && err.message) }));
    await new Promise((resolve, reject) => {
        httpsServer.once('error', reject);
        httpsServer.listen({ port, host }, () => resolve());
    });
    return httpsServer;
}

function answerCall(identity, { method, params }) {
    const overrides = replyOverrides.get(identity) || {};
    if (method in overrides) {
        const override = overrides[method];
        if (override && override.__callerror) {
            throw createRPCError(override.__callerror, override.description || '', override.details || {});
        }
        if (override && override.__noreply) {
            return NOREPLY;
        }
        return override;
    }
    const makeDefault = defaultReplies[method];
    if (!makeDefault) {
        throw createRPCError('NotImplemented', `The CSMS does not handle '${method}'`);
    }
    return makeDefault(params);
}

function reportStrictFailure(identity, failure) {
    const { error } = failure;
    strictErrors.add(error);
    emit({
        ev: 'strict_fail',
        cp: identity,
        // "in": the charge point sent it; "out": the test asked the CSMS to send it.
        direction: failure.outbound ? 'out' : 'in',
        kind: failure.isCall ? 'call' : 'result',
        action: failure.method,
        messageId: failure.messageId,
        code: error.rpcErrorCode || null,
        message: error.message,
        errors: (error.details && error.details.errors) || null,
        payload: failure.isCall ? failure.params : failure.result,
    });
}

function attachClient(client) {
    const identity = client.identity;
    /** messageId -> inbound CALLERROR frame, so the exact code the CP sent is reported. */
    const callErrorFrames = new Map();
    /** error object of a failed CSMS call -> the CALLERROR frame that caused it. */
    const framesByError = new WeakMap();

    const connection = { client, describeCallError };
    connections.set(identity, connection);
    const { tls, clientCn, clientSerial } = tlsOf(client.handshake.request);
    emit({ ev: 'connected', cp: identity, password: passwordText(client.handshake.password), protocol: client.protocol,
           tls, clientCn, clientSerial });

    client.on('call', ({ outbound, payload }) => {
        if (!outbound) {
            const [, messageId, action, params] = payload;
            emit({ ev: 'call_in', cp: identity, action, params: params ?? null, messageId });
        }
    });
    client.on('response', ({ outbound, payload }) => {
        if (!outbound && payload[0] === MSG_CALLERROR) {
            callErrorFrames.set(payload[1], payload);
        }
    });
    client.on('callError', ({ outbound, messageId, error }) => {
        if (outbound && callErrorFrames.has(messageId)) {
            framesByError.set(error, callErrorFrames.get(messageId));
            callErrorFrames.delete(messageId);
        }
    });
    client.on('strictValidationFailure', (failure) => reportStrictFailure(identity, failure));
    client.on('badMessage', ({ buffer, error, response }) => {
        emit({
            ev: 'bad_message',
            cp: identity,
            frame: buffer.toString('utf8'),
            code: error.rpcErrorCode || null,
            message: error.message,
            response,
        });
    });
    client.on('close', ({ code, reason }) => {
        if (connections.get(identity) === connection) {
            connections.delete(identity);
        }
        emit({ ev: 'closed', cp: identity, code, reason: String(reason ?? '') });
    });

    client.handle((call) => answerCall(identity, call));

    /** Tell apart a CALLERROR from the CP, a strict rejection of its answer, and a local failure (timeout...). */
    function describeCallError(error) {
        const frame = framesByError.get(error);
        if (frame) {
            const [, , code, description, details] = frame;
            return { kind: 'callerror', code, description, details };
        }
        if (strictErrors.has(error)) {
            return { kind: 'strict', code: error.rpcErrorCode, description: error.message, details: error.details };
        }
        return { kind: 'local', code: null, description: error.message, details: {} };
    }
}

async function callChargePoint({ id, cp, call: action, params, timeoutMs }) {
    const connection = connections.get(cp);
    if (!connection) {
        emit({ ev: 'call_error', id, cp, action, kind: 'local', code: null,
               description: `charge point '${cp}' is not connected`, details: {} });
        return;
    }
    try {
        const result = await connection.client.call(action, params ?? {}, { callTimeoutMs: timeoutMs ?? 5000 });
        emit({ ev: 'call_result', id, cp, action, result });
    } catch (error) {
        emit({ ev: 'call_error', id, cp, action, ...connection.describeCallError(error) });
    }
}

function setReplies(identity, replies) {
    const overrides = replyOverrides.get(identity) || {};
    for (const [action, value] of Object.entries(replies)) {
        if (value === null) {
            delete overrides[action];
        } else {
            overrides[action] = value;
        }
    }
    replyOverrides.set(identity, overrides);
}

let tlsServer = null;

async function shutdown(server) {
    if (tlsServer) {
        tlsServer.close();
        tlsServer.closeAllConnections();
    }
    const closing = server.close({ code: 1001, reason: 'CSMS shutting down' });
    const grace = new Promise((resolve) => setTimeout(resolve, 1000).unref());
    await Promise.race([closing, grace]);
    process.exit(0);
}

function handleCommand(server, line) {
    let command;
    try {
        command = JSON.parse(line);
    } catch (err) {
        emit({ ev: 'error', message: `unparseable command: ${line}` });
        return;
    }
    if (command.quit) {
        shutdown(server);
    } else if (command.call) {
        callChargePoint(command);
    } else if (command.reply) {
        setReplies(command.cp, command.reply);
    } else if (command.drop) {
        const connection = connections.get(command.cp);
        if (connection) {
            connection.client.close({ code: command.code ?? 1000, reason: 'dropped by test', force: Boolean(command.force) });
        }
    } else {
        emit({ ev: 'error', message: `unknown command: ${line}` });
    }
}

async function main() {
    const port = Number(process.argv[2] ?? 0);
    const server = new RPCServer({ protocols: [PROTOCOL], strictMode: true });

    server.auth((accept, reject, handshake) => {
        const password = passwordText(handshake.password);
        const refuse = (status, reason) => {
            emit({ ev: 'rejected', cp: handshake.identity, status, reason, password });
            reject(status, reason);
        };
        if (!handshake.protocols.has(PROTOCOL)) {
            refuse(400, `subprotocol ${PROTOCOL} required`);
        } else if (requiredPassword !== null && password !== requiredPassword
                   && tlsOf(handshake.request).clientCn === null) {
            refuse(401, 'Unauthorized');
        } else {
            accept({}, PROTOCOL);
        }
    });
    server.on('client', attachClient);
    server.on('error', (err) => emit({ ev: 'error', message: String(err && err.message) }));

    let listening;
    if (tlsCert && tlsKey) {
        tlsServer = await listenTls(server, port, '127.0.0.1');
        listening = tlsServer;
    } else {
        listening = await server.listen(port, '127.0.0.1');
    }
    emit({ ev: 'listening', port: listening.address().port, tls: Boolean(tlsServer) });

    const input = readline.createInterface({ input: process.stdin });
    input.on('line', (line) => line.trim() && handleCommand(server, line));
    // The Python side closing our stdin (or dying) must not leave this process behind.
    input.on('close', () => shutdown(server));
}

main().catch((err) => {
    process.stderr.write(`strict CSMS bridge failed: ${err.stack || err}\n`);
    process.exit(1);
});
