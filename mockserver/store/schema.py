"""The mock's tables: Flowise's entities (docs/resources.md), with Flowise's field names as columns.

Column names equal the JSON field names so a row is already the shape Flowise serialises. JSON-string
columns hold text exactly as Flowise stores it. Booleans are SQLite integers; handlers convert them.
"""

from __future__ import annotations

__all__ = ["SCHEMA"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS mock_meta (key TEXT PRIMARY KEY, value TEXT);

CREATE TABLE IF NOT EXISTS chat_flow (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, flowData TEXT NOT NULL, deployed INTEGER, isPublic INTEGER,
    apikeyid TEXT, chatbotConfig TEXT, apiConfig TEXT, analytic TEXT, speechToText TEXT, textToSpeech TEXT,
    followUpPrompts TEXT, category TEXT, type TEXT NOT NULL DEFAULT 'CHATFLOW', mcpServerConfig TEXT,
    webhookSecretConfigured INTEGER NOT NULL DEFAULT 0, workspaceId TEXT NOT NULL,
    createdDate TEXT NOT NULL, updatedDate TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS chat_message (
    id TEXT PRIMARY KEY, role TEXT NOT NULL, chatflowid TEXT NOT NULL, executionId TEXT, content TEXT NOT NULL,
    sourceDocuments TEXT, usedTools TEXT, fileAnnotations TEXT, agentReasoning TEXT, reasonContent TEXT,
    fileUploads TEXT, artifacts TEXT, action TEXT, chatType TEXT NOT NULL, chatId TEXT NOT NULL,
    memoryType TEXT, sessionId TEXT, createdDate TEXT NOT NULL, leadEmail TEXT, followUpPrompts TEXT,
    seq INTEGER
);
CREATE INDEX IF NOT EXISTS chat_message_flow ON chat_message (chatflowid, chatId);
CREATE INDEX IF NOT EXISTS chat_message_session ON chat_message (chatflowid, sessionId);
CREATE INDEX IF NOT EXISTS chat_message_seq ON chat_message (seq);

CREATE TABLE IF NOT EXISTS chat_message_feedback (
    id TEXT PRIMARY KEY, chatflowid TEXT NOT NULL, chatId TEXT NOT NULL, messageId TEXT NOT NULL UNIQUE,
    rating TEXT, content TEXT, createdDate TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS lead (
    id TEXT PRIMARY KEY, name TEXT, email TEXT, phone TEXT, chatflowid TEXT NOT NULL, chatId TEXT NOT NULL,
    createdDate TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS execution (
    id TEXT PRIMARY KEY, executionData TEXT NOT NULL, state TEXT NOT NULL, agentflowId TEXT NOT NULL,
    sessionId TEXT NOT NULL, action TEXT, isPublic INTEGER, workspaceId TEXT NOT NULL,
    createdDate TEXT NOT NULL, updatedDate TEXT NOT NULL, stoppedDate TEXT
);

CREATE TABLE IF NOT EXISTS variable (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, value TEXT, type TEXT NOT NULL DEFAULT 'string',
    workspaceId TEXT NOT NULL, createdDate TEXT NOT NULL, updatedDate TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS tool (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL, color TEXT NOT NULL, iconSrc TEXT,
    schema TEXT, func TEXT, workspaceId TEXT NOT NULL, createdDate TEXT NOT NULL, updatedDate TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS assistant (
    id TEXT PRIMARY KEY, details TEXT NOT NULL, credential TEXT, iconSrc TEXT, type TEXT,
    workspaceId TEXT NOT NULL, createdDate TEXT NOT NULL, updatedDate TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS apikey (
    id TEXT PRIMARY KEY, keyName TEXT NOT NULL, keyHash TEXT NOT NULL UNIQUE, apiSecret TEXT NOT NULL,
    keyPreview TEXT NOT NULL, permissions TEXT NOT NULL DEFAULT '[]', workspaceId TEXT NOT NULL,
    updatedDate TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS credential (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, credentialName TEXT NOT NULL, encryptedData TEXT NOT NULL,
    workspaceId TEXT NOT NULL, createdDate TEXT NOT NULL, updatedDate TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS document_store (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT, loaders TEXT NOT NULL DEFAULT '[]',
    whereUsed TEXT NOT NULL DEFAULT '[]', status TEXT NOT NULL DEFAULT 'EMPTY', vectorStoreConfig TEXT,
    embeddingConfig TEXT, recordManagerConfig TEXT, workspaceId TEXT NOT NULL,
    createdDate TEXT NOT NULL, updatedDate TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS document_store_file_chunk (
    id TEXT PRIMARY KEY, docId TEXT NOT NULL, storeId TEXT NOT NULL, chunkNo INTEGER NOT NULL,
    pageContent TEXT NOT NULL, metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS chunk_doc ON document_store_file_chunk (storeId, docId, chunkNo);

CREATE TABLE IF NOT EXISTS upsert_history (
    id TEXT PRIMARY KEY, chatflowid TEXT NOT NULL, result TEXT NOT NULL, flowData TEXT NOT NULL, date TEXT NOT NULL
);

-- Vectors of the fake embedding; namespace is a chatflow id (vector upsert) or a document store id.
CREATE TABLE IF NOT EXISTS vector (
    id TEXT PRIMARY KEY, namespace TEXT NOT NULL, docId TEXT, contentHash TEXT NOT NULL,
    pageContent TEXT NOT NULL, metadata TEXT NOT NULL DEFAULT '{}', embedding BLOB NOT NULL,
    createdDate TEXT NOT NULL, UNIQUE (namespace, contentHash)
);
"""
