CREATE TABLE `sessions` (
	`id` varchar(64) NOT NULL,
	`data` json NOT NULL,
	`expires_at` datetime(3) NOT NULL,
	`absolute_expires_at` datetime(3),
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	`schema_version` int NOT NULL,
	`rev` int NOT NULL,
	`successor_id` varchar(64),
	`user_id` varchar(255) GENERATED ALWAYS AS (json_value(`data`, '$.userId.json')) STORED,
	CONSTRAINT `sessions_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE INDEX `sessions_expires_at_idx` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE INDEX `sessions_user_id_idx` ON `sessions` (`user_id`);