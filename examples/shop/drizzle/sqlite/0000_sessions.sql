CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`data` text NOT NULL,
	`expires_at` integer NOT NULL,
	`absolute_expires_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`schema_version` integer NOT NULL,
	`rev` integer NOT NULL,
	`successor_id` text,
	`user_id` text GENERATED ALWAYS AS (json_extract("data", '$.userId.json')) VIRTUAL
);
--> statement-breakpoint
CREATE INDEX `sessions_expires_at_idx` ON `sessions` (`expires_at`);--> statement-breakpoint
CREATE INDEX `sessions_user_id_idx` ON `sessions` (`user_id`);