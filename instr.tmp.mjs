import { ConnectionPool } from './dist/http/pool.js';
let created = 0, closed = 0; const reasons = {};
const origCreate = ConnectionPool.prototype.create;
ConnectionPool.prototype.create = function (...a) { created++; const c = origCreate.apply(this, a); c.socket.on('close', () => closed++); return c; };
const origRelease = ConnectionPool.prototype.release;
ConnectionPool.prototype.release = function (c) { if (!c.reusable) { const k = `${c.phase} ka=${c.keepAlive} s=${c.start} e=${c.end} d=${c.socket.destroyed}`; reasons[k] = (reasons[k] ?? 0) + 1; } return origRelease.call(this, c); };
process.on('exit', () => console.error('created', created, 'closed', closed, JSON.stringify(reasons)));
