// Package antmedia is the sandbox's model of Ant Media Server Enterprise
// 3.0.x, the Marketplace image's: its installation under
// /usr/local/antmedia and antmedia.service, the REST endpoints of the web
// panel the boot scripts use behind its AuthenticationFilter, the user
// store (local, or MongoDB in cluster mode), the stream statistics,
// application creation (create_app.sh, refused by 3.0.2 and later on an
// argument with shell characters, and the cluster's applications created on
// a joining node), change_server_mode.sh, and publishing and playing
// against an application's JWT stream security (publish.go, jwt.go).
//
// Upstream sources it follows (ant-media/Ant-Media-Server, tags ams-v3.0.2
// and ams-v3.0.3), cited beside each model: src/main/server/
// change_server_mode.sh, io.antmedia.console.rest.CommonRestService,
// io.antmedia.console.AdminApplication (runConfiguredCommand, commit
// 13906cf29), src/main/server/create_app.sh, io.antmedia.filter.
// AuthenticationFilter, io.antmedia.datastore.db.MongoStore,
// org.red5.server.stream.StreamService, io.antmedia.filter.JWTFilter; and
// auth0 java-jwt 4.4.0, ant-media/StreamApp and FFmpeg's rtmpproto.c.
package antmedia
