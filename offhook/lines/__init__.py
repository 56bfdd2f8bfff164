"""Phone systems and lines: configuring them (`admin`) and running them (`running`): drivers in,
one ordered path from call events to the store and the journal push."""
